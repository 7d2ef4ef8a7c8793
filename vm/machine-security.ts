import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type JSONSchemaType } from 'ajv';
import { parse } from 'yaml';
import { fromPackage } from '../src/util/package-root.ts';

/** vm/security/machine.yaml: the capabilities a machine keeps and the changes to Docker's seccomp profile, each with its reason. */
export interface MachineSecurity {
  capabilities: { name: string; why: string }[];
  seccomp: {
    base: string;
    remove: { names: string[]; why: string }[];
    /** Allowed, or with `refuse`, answered with that error instead of the base's EPERM. */
    add: { names: string[]; refuse?: 'ENOSYS'; why: string }[];
  };
}

const reasoned = {
  type: 'object',
  additionalProperties: false,
  required: ['names', 'why'],
  properties: { names: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[a-z0-9_]+$' } }, why: { type: 'string', minLength: 1 } },
} as const;

const schema: JSONSchemaType<MachineSecurity> = {
  type: 'object',
  additionalProperties: false,
  required: ['capabilities', 'seccomp'],
  properties: {
    capabilities: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'why'],
        properties: { name: { type: 'string', pattern: '^[A-Z_]+$' }, why: { type: 'string', minLength: 1 } },
      },
    },
    seccomp: {
      type: 'object',
      additionalProperties: false,
      required: ['base', 'remove', 'add'],
      properties: {
        base: { type: 'string', pattern: '^[a-z0-9-]+\\.json$' },
        remove: { type: 'array', items: reasoned },
        add: { type: 'array', items: { ...reasoned, properties: { ...reasoned.properties, refuse: { type: 'string', enum: ['ENOSYS'], nullable: true } } } },
      },
    },
  },
};

interface SeccompRule {
  names: string[];
  action: string;
  [key: string]: unknown;
}
interface SeccompProfile {
  defaultAction: string;
  syscalls: SeccompRule[];
  [key: string]: unknown;
}

const ERRNO = { ENOSYS: 38 } as const;

const SECURITY_DIR = fromPackage('vm', 'security');

/** Reads vm/security/machine.yaml; a malformed file is a programming error of this repository, said with its path. */
export function readMachineSecurity(folder = SECURITY_DIR): MachineSecurity {
  const file = join(folder, 'machine.yaml');
  const data: unknown = parse(readFileSync(file, 'utf8'));
  const validate = new Ajv({ allErrors: true }).compile(schema);
  if (!validate(data)) throw new Error(`${file}: ${validate.errors?.map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`).join('; ')}`);
  return data;
}

/** The base profile with the removals taken out of every allowing rule (a rule left with no name is dropped) and the additions appended. */
export function seccompProfile(security: MachineSecurity, folder = SECURITY_DIR): SeccompProfile {
  const base = JSON.parse(readFileSync(join(folder, security.seccomp.base), 'utf8')) as SeccompProfile;
  const removed = new Set(security.seccomp.remove.flatMap((r) => r.names));
  const allowed = (rule: SeccompRule): boolean => rule.action === 'SCMP_ACT_ALLOW';
  const syscalls = base.syscalls
    .map((rule) => (allowed(rule) ? { ...rule, names: rule.names.filter((name) => !removed.has(name)) } : rule))
    .filter((rule) => rule.names.length > 0);
  for (const { names, refuse, why } of security.seccomp.add) {
    syscalls.push(refuse ? { names, action: 'SCMP_ACT_ERRNO', errnoRet: ERRNO[refuse], comment: why } : { names, action: 'SCMP_ACT_ALLOW', comment: why });
  }
  return { ...base, syscalls };
}

let cached: { CapDrop: string[]; CapAdd: string[]; SecurityOpt: string[] } | undefined;

/**
 * The HostConfig fields that bound a machine (and a helper container): every capability dropped but
 * the listed ones, the profile as the engine's seccomp filter. AppArmor stays unconfined: Docker's
 * default AppArmor profile refuses every mount, which systemd and runc need.
 */
export function machineSecurityOptions(): { CapDrop: string[]; CapAdd: string[]; SecurityOpt: string[] } {
  if (cached) return cached;
  const security = readMachineSecurity();
  cached = {
    CapDrop: ['ALL'],
    CapAdd: security.capabilities.map((c) => c.name),
    SecurityOpt: [`seccomp=${JSON.stringify(seccompProfile(security))}`, 'apparmor=unconfined'],
  };
  return cached;
}
