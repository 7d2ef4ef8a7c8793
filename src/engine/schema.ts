import { MACHINE_NAMES } from '../lab/topology.ts';
import { NEEDS } from './needs.ts';

const machine = { enum: MACHINE_NAMES } as const;

/** The JSON schema of a chapter manifest (labs/chapters/NN-name/chapter.yaml). */
export const chapterSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'prose', 'steps'],
  properties: {
    title: { type: 'string', minLength: 1 },
    summary: { type: 'string' },
    /** `cluster-built`: at the end of this chapter the cluster is built and proven; break-and-fix starts from the next. */
    milestone: { enum: ['cluster-built'] },
    /** What this chapter needs from the host beyond the chapters before it (the binaries, the registry): waited for before its steps run. */
    needs: { type: 'array', uniqueItems: true, items: { enum: NEEDS } },
    prose: { type: 'string', pattern: '\\.md$' },
    steps: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'title', 'machine', 'checks', 'solve', 'hints'],
        properties: {
          id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$' },
          title: { type: 'string', minLength: 1 },
          machine,
          checks: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['run', 'fail'],
              properties: {
                run: { type: 'string', minLength: 1 },
                fail: { type: 'string', minLength: 1 },
                machine,
              },
            },
          },
          solve: { type: 'string', minLength: 1 },
          /** Its result names the machines' addresses or is lost when they stop: a restored or restarted lab solves it again first. */
          addresses: { type: 'boolean' },
          /** The prose leaves part of the work to the learner (and says so): the prose alone does not pass, its solution does. */
          exercise: { type: 'boolean' },
          hints: { type: 'array', minItems: 2, items: { type: 'string', minLength: 1 } },
        },
      },
    },
  },
} as const;

const action = {
  type: 'object',
  additionalProperties: false,
  required: ['machine', 'run'],
  properties: { machine, run: { type: 'string', minLength: 1 } },
} as const;
const check = {
  type: 'object',
  additionalProperties: false,
  required: ['machine', 'run', 'fail'],
  properties: { machine, run: { type: 'string', minLength: 1 }, fail: { type: 'string', minLength: 1 } },
} as const;

/** The JSON schema of a fault (labs/faults/<id>.yaml): adding a fault needs nothing but such a file. */
export const faultSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'component', 'difficulty', 'symptom', 'inject', 'signatures', 'hints', 'solve', 'fixed'],
  properties: {
    title: { type: 'string', minLength: 1 },
    component: { type: 'string', minLength: 1 },
    difficulty: { enum: [1, 2, 3] },
    symptom: { type: 'string', minLength: 1 },
    inject: { type: 'array', minItems: 1, items: action },
    signatures: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['component', 'contains'],
        properties: { component: { type: 'string' }, contains: { type: 'string', minLength: 3 } },
      },
    },
    hints: { type: 'array', minItems: 2, items: { type: 'string', minLength: 1 } },
    solve: { type: 'array', minItems: 1, items: action },
    fixed: { type: 'array', minItems: 1, items: check },
    // Words from the fault's scripts that its `fixed` messages may name anyway (see test/unit/engine/fault-messages.test.ts).
    message_exceptions: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['word', 'reason'],
        properties: { word: { type: 'string', minLength: 1 }, reason: { type: 'string', minLength: 10 } },
      },
    },
  },
} as const;

/** labs/health.yaml: what a healthy cluster looks like, and what no fix may do. */
export const healthSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['health', 'guards'],
  properties: {
    health: { type: 'array', minItems: 1, items: { ...check, required: [...check.required, 'component'], properties: { ...check.properties, component: { type: 'string' } } } },
    // Bash functions the guards share; loadHealth puts them before every guard's script.
    guard_functions: { type: 'string' },
    guards: { type: 'array', minItems: 1, items: check },
    shutdown: { type: 'array', items: action },
  },
} as const;

/**
 * A lab's progress file (src/engine/progress.ts). `passedAt` came later: files without it (steps passed
 * before it was kept) still load, their passes with no time. Fields it does not know are kept out by
 * the reader, not refused, so a newer hardway's file still loads.
 */
export const progressSchema = {
  type: 'object',
  required: ['chapter', 'passed'],
  properties: {
    chapter: { type: 'integer', minimum: 1 },
    passed: { type: 'array', items: { type: 'string' } },
    passedAt: { type: 'object', additionalProperties: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$' } },
    hintsShown: { type: 'object', additionalProperties: { type: 'integer', minimum: 0 } },
    fault: {
      type: 'object',
      required: ['id', 'hidden', 'hintsShown'],
      properties: { id: { type: 'string', minLength: 1 }, hidden: { type: 'boolean' }, hintsShown: { type: 'integer', minimum: 0 } },
    },
  },
} as const;
