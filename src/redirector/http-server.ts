// The daemon's HTTP side is the redirector; the old name stays so the daemon's import keeps working.
export { RedirectorServer as HttpServer, type RedirectorServerOptions as HttpServerOptions } from './server.js';
