// Orderly's public library API.
export { createOrderly, type DatabaseOptions, type OrderlyOptions } from './node/library.js';
export { Orderly, OrderlyError } from './runtime/orderly.js';
export type { AddOrder, OrderFilter } from './runtime/orderly.js';
export type { JobContext, JobFunction } from './runtime/function-executor.js';
export type { LockView, OrderView } from './runtime/views.js';
export type { Event, Stamped } from './core/events.js';
export type {
  Demand,
  Grant,
  Instruction,
  Job,
  LockDef,
  Order,
  OrderState,
  Outcome,
  Position,
  Workflow,
} from './core/model.js';
export type { Problem, ProblemItem } from './core/commands.js';
export { exportLockJson, exportWorkflowJson, importLockJson, importWorkflowJson } from './formats/js7.js';
export { readInventoryDir, writeInventoryDir } from './formats/inventory-dir.js';
