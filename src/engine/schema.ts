/** The JSON schema of a chapter manifest (labs/chapters/NN-name/chapter.yaml). */
export const chapterSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'prose', 'steps'],
  properties: {
    title: { type: 'string', minLength: 1 },
    summary: { type: 'string' },
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
          machine: { enum: ['jumpbox', 'server', 'node-0', 'node-1'] },
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
                machine: { enum: ['jumpbox', 'server', 'node-0', 'node-1'] },
              },
            },
          },
          solve: { type: 'string', minLength: 1 },
          hints: { type: 'array', minItems: 2, items: { type: 'string', minLength: 1 } },
        },
      },
    },
  },
} as const;
