import { expect } from 'vitest';
import { z } from 'zod';

/**
 * The shape of an Adaptive Card message as a Teams Workflows webhook accepts it: the message
 * envelope, an AdaptiveCard of version 1.4 or later, and body elements of known types with
 * their required properties (after adaptivecards.io/schemas/adaptive-card.json).
 */
type Element = { type: 'TextBlock'; text: string } | { type: 'FactSet'; facts: Array<{ title: string; value: string }> } | { type: 'Container'; items: Element[] };
const element: z.ZodType<Element> = z.lazy(() =>
  z.discriminatedUnion('type', [
    z.object({
      type: z.literal('TextBlock'),
      text: z.string().min(1),
      wrap: z.boolean().optional(),
      weight: z.enum(['Default', 'Lighter', 'Bolder']).optional(),
      size: z.enum(['Default', 'Small', 'Medium', 'Large', 'ExtraLarge']).optional(),
      color: z.enum(['Default', 'Dark', 'Light', 'Accent', 'Good', 'Warning', 'Attention']).optional(),
      isSubtle: z.boolean().optional(),
      spacing: z.enum(['None', 'Small', 'Default', 'Medium', 'Large', 'ExtraLarge', 'Padding']).optional(),
    }).strict(),
    z.object({ type: z.literal('FactSet'), facts: z.array(z.object({ title: z.string().min(1), value: z.string() }).strict()).min(1) }).strict(),
    z.object({
      type: z.literal('Container'),
      style: z.enum(['default', 'emphasis', 'good', 'attention', 'warning', 'accent']).optional(),
      bleed: z.boolean().optional(),
      items: z.array(element).min(1),
    }).strict(),
  ]),
);

export const teamsWorkflowMessage = z
  .object({
    type: z.literal('message'),
    attachments: z
      .array(
        z.object({
          contentType: z.literal('application/vnd.microsoft.card.adaptive'),
          contentUrl: z.null().optional(),
          content: z.object({
            $schema: z.literal('http://adaptivecards.io/schemas/adaptive-card.json'),
            type: z.literal('AdaptiveCard'),
            version: z.string().regex(/^1\.([4-9]|\d\d)$/),
            msteams: z.object({ width: z.literal('Full') }).optional(),
            body: z.array(element).min(1),
          }),
        }),
      )
      .length(1),
  })
  .strict();

export function expectAdaptiveCardMessage(body: unknown) {
  const parsed = teamsWorkflowMessage.safeParse(body);
  if (!parsed.success) expect.fail(`not a Teams Workflows Adaptive Card message: ${z.prettifyError(parsed.error)}`);
  return parsed.data.attachments[0]!.content;
}
