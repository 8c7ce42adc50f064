import {Engine} from '../engine/engine.js'
import {ServerLog} from './http.js'

/** What every route of one service shares: the engine (one per service) and its log. */
export interface ServiceContext {
  engine: Engine
  /** ncx's version (the Engine's `Version`). */
  version: string
  log: ServerLog
  /** Keeps the service from its idle exit while background work runs; call the result when done. */
  hold: () => () => void
}
