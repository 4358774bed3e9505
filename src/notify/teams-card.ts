import type { RenderedAlert } from './messages.js';

/** The subset of Adaptive Card 1.4 elements the alert card uses. */
export type CardElement =
  | { type: 'TextBlock'; text: string; wrap?: boolean; weight?: 'Bolder' | 'Default'; size?: 'Medium' | 'Large' | 'Default'; color?: 'Attention' | 'Warning' | 'Good' | 'Default'; isSubtle?: boolean; spacing?: 'Medium' }
  | { type: 'FactSet'; facts: Array<{ title: string; value: string }> }
  | { type: 'Container'; style?: 'attention' | 'warning' | 'good' | 'emphasis'; bleed?: boolean; items: CardElement[] };

export interface AdaptiveCard {
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json';
  type: 'AdaptiveCard';
  version: '1.4';
  msteams: { width: 'Full' };
  body: CardElement[];
}

/** What a Teams Workflows "When a Teams webhook request is received" trigger expects. */
export interface TeamsWorkflowMessage {
  type: 'message';
  attachments: Array<{ contentType: 'application/vnd.microsoft.card.adaptive'; contentUrl: null; content: AdaptiveCard }>;
}

export function teamsMessage(alert: RenderedAlert): TeamsWorkflowMessage {
  const recovered = alert.event.kind === 'recovery';
  const color = recovered ? 'Good' : alert.event.severity === 'critical' ? 'Attention' : 'Warning';
  const style = recovered ? 'good' : alert.event.severity === 'critical' ? 'attention' : 'warning';
  const l = alert.labels;
  const body: CardElement[] = [
    {
      type: 'Container',
      style,
      bleed: true,
      items: [{ type: 'TextBlock', text: alert.title, weight: 'Bolder', size: 'Medium', color, wrap: true }],
    },
    { type: 'TextBlock', text: alert.headline, wrap: true },
    { type: 'FactSet', facts: alert.facts.map((f) => ({ title: f.label, value: f.value })) },
    { type: 'TextBlock', text: `**${l.firstStep}**: ${alert.firstStep}`, wrap: true, spacing: 'Medium' },
  ];
  if (alert.remedy) body.push({ type: 'TextBlock', text: `**${l.remedy}**: ${alert.remedy}`, wrap: true, isSubtle: true });
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: { $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4', msteams: { width: 'Full' }, body },
      },
    ],
  };
}
