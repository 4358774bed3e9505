import { z } from 'zod';
import { managedRolesSetting } from '../../shared/rotation/managed-roles.js';
import { bool, int, setting } from '../../platform/settings.js';

export const rotationSettings = {
  roles: managedRolesSetting,
  minLength: setting({
    env: 'DBOPS_PASSWORD_MIN_LENGTH',
    doc: 'Length of generated database passwords (the plan asks for at least 12, with upper, lower, digit and special characters).',
    default: '24',
    plan: '4.3.2',
    schema: int(12, 128),
  }),
  expiryDays: setting({
    env: 'DBOPS_PASSWORD_EXPIRY_DAYS',
    doc: 'Age in days after which a password must have been rotated.',
    default: '90',
    plan: '4.3.2',
    schema: int(1, 3650),
  }),
  history: setting({
    env: 'DBOPS_PASSWORD_HISTORY',
    doc: 'A new password differs from this many previous ones.',
    default: '5',
    plan: '4.3.2',
    schema: int(0, 100),
  }),
  windowDays: setting({
    env: 'DBOPS_ROTATION_WINDOW_DAYS',
    doc: 'The daily timer rotates a managed secret this many days before it expires (Key Vault sends SecretNearExpiry 30 days before).',
    default: '30',
    schema: int(0, 365),
  }),
  graceHours: setting({
    env: 'DBOPS_ROTATION_GRACE_HOURS',
    doc: 'How long the previous secret version stays enabled after a rotation, so readers that cached it can still read it; then it is disabled. In dual-role mode the idle login is not changed while its version is within this period. Keep it above the 24 h in which Key Vault references refresh.',
    default: '48',
    schema: int(0, 24 * 60),
  }),
  dualRole: setting({
    env: 'DBOPS_ROTATION_DUAL_ROLE',
    doc: 'Dual-role mode: each managed role gets two login roles (<role>_blue, <role>_green) that take turns, members of the role, which keeps the grants; the secret value is JSON {"username","password"} naming the login to use. See docs/jobs/password-rotation.md before enabling.',
    default: 'false',
    schema: bool(),
  }),
};

export const rotationParams = z
  .object({
    role: z.string().min(1).max(63).optional().describe('rotate this managed role now, whatever its expiry'),
    secret: z.string().min(1).max(127).optional().describe('the secret a Key Vault event was about'),
    version: z.string().min(1).max(64).nullable().optional().describe('the secret version the event was about'),
    eventId: z.string().min(1).max(200).optional().describe('the event that asked'),
    eventTime: z.string().max(40).nullable().optional().describe('when the event was raised'),
  })
  .strict();
export type RotationParams = z.infer<typeof rotationParams>;
