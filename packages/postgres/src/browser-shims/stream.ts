/**
 * Browser stand-in for `stream` as Postgres.js uses it: the Node streams of `COPY`
 * (`.readable()`, `.writable()`) and of large objects, which need Node.
 */
import { unavailableInBrowser } from './unavailable.js';

class NodeStreamOnly {
  constructor() {
    throw unavailableInBrowser('Node streams (COPY .readable()/.writable(), large objects)', 'they need Node');
  }
}

export default { Readable: NodeStreamOnly, Writable: NodeStreamOnly, Duplex: NodeStreamOnly };
