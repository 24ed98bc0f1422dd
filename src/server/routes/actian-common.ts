// What the Actian routes (actian.ts and actian-more.ts) share: schema pieces and the answers
// that show a job config.

import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';

import type { JobConfig, JobTemplate } from '../../core/model.js';
import type { JobConfigView } from '../../runtime/orderly.js';
import { configHref, configResponse } from '../actian-map.js';
import type { ServerContext } from '../context.js';
import { JobConfigIdSchema, mustGetConfig } from './jobconfigs.js';

/** Actian's objects: properties Orderly does not know are allowed (and kept where it says so). */
export const open = { additionalProperties: true } as const;
export const NoContent = Type.Null({ description: 'done (no content)' });
export const ConfigParams = Type.Object({ id: JobConfigIdSchema });
/** Query parameters of Actian's lists that Orderly refuses (400) rather than ignores. */
export const UNSUPPORTED_FILTERS = ['filter', 'filterby', 'operators'] as const;

export interface ConfigAnswers {
  /** The template a job config uses, if any. */
  templateOf(c: JobConfig): JobTemplate | undefined;
  /** JobConfigResponse of a job config. */
  configOf(v: JobConfigView): Record<string, unknown>;
  /** JobConfigResponse of the job config `id` (404 when there is none). */
  configOut(id: string): Record<string, unknown>;
  /** 201 with the JobConfigResponse of a job config just made, and its Location. */
  created(reply: FastifyReply, v: JobConfigView, template?: JobTemplate): FastifyReply;
}

export function configAnswers(ctx: ServerContext): ConfigAnswers {
  const templateOf = (c: JobConfig): JobTemplate | undefined => (c.templateId !== undefined ? ctx.orderly.getJobTemplate(c.templateId) : undefined);
  const configOf = (v: JobConfigView): Record<string, unknown> => configResponse(v, templateOf(v));
  return {
    templateOf,
    configOf,
    configOut: (id) => configOf(mustGetConfig(ctx, id)),
    created: (reply, v, template = templateOf(v)) => reply.status(201).header('location', configHref(v.id)).send(configResponse(v, template)),
  };
}
