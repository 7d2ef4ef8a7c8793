import type { MachineProvider } from '../../vm/provider.ts';
import { LabError } from '../util/errors.ts';

/** What the room knows of one engine when it places a lab. */
export interface EngineFacts {
  reachable: boolean;
  apiVersion?: string;
  /** The engine's memory (what `docker info` calls MemTotal). */
  memoryBytes?: number;
  detail?: string;
}

/** One Docker engine of a room: where its labs' machines run. */
export interface RoomEngine {
  id: number;
  spec: string;
  /** The most labs the instructor allows on it (none: memory decides). */
  maxLabs: number | null;
  provider: MachineProvider;
  /** Asks the engine for its API version and memory; never throws. */
  probe(): Promise<EngineFacts>;
  /** Closes shared connections (ssh). */
  close(): Promise<void>;
}

export interface EngineLoad {
  engine: RoomEngine;
  facts: EngineFacts;
  labs: number;
}

/** A lab's memory: four machines at the room's limit per machine (or this much each when unlimited). */
export const UNLIMITED_MACHINE_BYTES = 1024 ** 3;
export const labMemory = (memoryPerMachine: number): number => 4 * (memoryPerMachine || UNLIMITED_MACHINE_BYTES);
/** Kept free on every engine for its own processes and the host. */
export const ENGINE_RESERVE_BYTES = 2 * 1024 ** 3;

/** How much room is left for labs on an engine: its memory, minus the reserve, minus the room's labs there. */
export function headroom(load: EngineLoad, memoryPerMachine: number): number {
  if (!load.facts.reachable || load.facts.memoryBytes === undefined) return -Infinity;
  if (load.engine.maxLabs !== null && load.labs >= load.engine.maxLabs) return -Infinity;
  return load.facts.memoryBytes - ENGINE_RESERVE_BYTES - load.labs * labMemory(memoryPerMachine);
}

/**
 * The engine a new lab goes to: the reachable one with the most headroom that still fits a whole
 * lab. Never over-commits: when none fits, says so.
 */
export function placeLab(loads: EngineLoad[], memoryPerMachine: number): RoomEngine {
  const need = labMemory(memoryPerMachine);
  const fitting = loads.map((load) => ({ load, room: headroom(load, memoryPerMachine) })).filter(({ room }) => room >= need);
  fitting.sort((a, b) => b.room - a.room || a.load.labs - b.load.labs || a.load.engine.id - b.load.engine.id);
  const best = fitting[0];
  if (!best) {
    const down = loads.filter((l) => !l.facts.reachable).length;
    throw new LabError(
      `no engine has room for another lab (${loads.length} engines, ${down} not answering)`,
      'add an engine to the room, or lower the memory per machine',
    );
  }
  return best.load.engine;
}
