import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAuditLog } from '../../../src/trace/audit.ts';
import { normaliseEvent, parseEventList, placeByAudit, timeInName } from '../../../src/trace/events.ts';

// A fresh `kubectl create deployment shop --replicas=2` whose ReplicaSet, pods and bindings all fall in
// the second 09:10:07, in the shape of the recorded fixture (same writers, same fields).
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/trace/same-second/${name}`, import.meta.url), 'utf8');
const items = () => (JSON.parse(fixture('events.json')) as { items: Record<string, unknown>[] }).items;
const second = Date.parse('2026-12-02T09:10:07Z');
const scaling = () => items().find((i) => i.reason === 'ScalingReplicaSet')!;
const nameOf = (item: Record<string, unknown>) => (item.metadata as { name: string }).name;
/** The same Event as another client would have named it (its own object, so its own uid). */
const renamed = (item: Record<string, unknown>, name: string) => ({ ...item, metadata: { ...(item.metadata as object), name, uid: `uid-of-${name}` } });

describe('when an Event happened', () => {
  it('reads the nanosecond client-go put in the name of an Event that keeps only its second', () => {
    const event = normaliseEvent(scaling())!;
    expect(event.time).toBe(second + 472);
    expect(event.precise).toBe(true);
    expect(event.lastTime).toBe(event.time);
  });

  it('takes eventTime, to the microsecond, when the reporter wrote one', () => {
    const scheduled = normaliseEvent(items().find((i) => i.reason === 'Scheduled' && i.eventTime)!)!;
    expect(scheduled.time).toBe(Date.parse(String(items().find((i) => i.reason === 'Scheduled')!.eventTime)));
    expect(scheduled.time % 1000).toBeGreaterThan(0);
    expect(scheduled.precise).toBe(true);
  });

  it('believes a name only when it falls in the Event\'s own second', () => {
    expect(timeInName('shop.18ed64c13b0497cc', second)).toBe(second + 472);
    expect(timeInName('shop.18ed64c13b0497cc', second + 1000)).toBeNaN();
    expect(timeInName('shop.beef', second)).toBeNaN();
    expect(timeInName('shop-by-hand', second)).toBeNaN();
    const byHand = normaliseEvent(renamed(scaling(), 'shop-by-hand'))!;
    expect(byHand).toMatchObject({ time: second, precise: false });
  });

  it('places an Event known only to its second at its audited create, when the audit log records one in that second', () => {
    const events = parseEventList({ items: [renamed(scaling(), 'shop-by-hand'), renamed(scaling(), 'shop-late'), scaling()] });
    const create = (name: string, received: string) =>
      JSON.stringify({ kind: 'Event', level: 'Metadata', auditID: name, stage: 'ResponseComplete', requestURI: '/apis/events.k8s.io/v1/namespaces/default/events', verb: 'create', user: { username: 'system:serviceaccount:kube-system:deployment-controller' }, objectRef: { resource: 'events', namespace: 'default', name, apiGroup: 'events.k8s.io', apiVersion: 'v1' }, responseStatus: { code: 201 }, requestReceivedTimestamp: received, stageTimestamp: received });
    const audit = parseAuditLog([create('shop-by-hand', '2026-12-02T09:10:07.473090Z'), create('shop-late', '2026-12-02T09:10:08.020000Z'), create(nameOf(scaling()), '2026-12-02T09:10:07.900000Z')].join('\n'));
    const placed = placeByAudit(events, audit);
    expect(placed.find((e) => e.name === 'shop-by-hand')).toMatchObject({ time: second + 473, precise: true });
    // Its create came in the next second: that says less than the second the Event itself names.
    expect(placed.find((e) => e.name === 'shop-late')).toMatchObject({ time: second, precise: false });
    // The name already said when it happened; the write came later.
    expect(placed.find((e) => e.name.startsWith('shop.'))!.time).toBe(second + 472);
  });
});
