// The notification channels of a cluster on one schema, in one place. A channel's name is the
// schema's name, a dot and what it is about (the journal's own are `<schema>.events` and
// `<schema>.leases`, see src/journal/postgres.ts).

export interface ClusterChannels {
  /** A node's row was inserted, its worker or functions changed, or it stopped. Payload: the node's name. */
  nodes: string;
  /** Executions were dispatched to a worker. Payload: the worker's id. */
  dispatch: string;
  /** A worker wrote an execution's result. Payload: the execution's id. */
  results: string;
}

export function clusterChannels(schema: string): ClusterChannels {
  return { nodes: `${schema}.nodes`, dispatch: `${schema}.dispatch`, results: `${schema}.results` };
}
