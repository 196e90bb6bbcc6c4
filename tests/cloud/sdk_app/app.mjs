// Small app built on the official @mentra/sdk AppServer, driven by
// tests/cloud/test_sdk_interop.py.
//
// Config (env): WSQ_PORT, WSQ_PACKAGE_NAME, WSQ_API_KEY, WSQ_STREAM (button_press or
// head_position). In onSession it subscribes to WSQ_STREAM and, on every event, shows a
// text wall echoing it. It reports what happens as JSON lines on stdout, each carrying
// "wsquake": true, so the test can tell them apart from the SDK's own (pino-pretty) logs.
import axios from "axios";
import { AppServer } from "@mentra/sdk";

function report(event, fields = {}) {
  process.stdout.write(JSON.stringify({ wsquake: true, event, ...fields }) + "\n");
}

function required(name) {
  const value = process.env[name];
  if (!value) {
    report("config_error", { message: `missing environment variable ${name}` });
    process.exit(64);
  }
  return value;
}

const port = Number.parseInt(required("WSQ_PORT"), 10);
const packageName = required("WSQ_PACKAGE_NAME");
const apiKey = required("WSQ_API_KEY");
const stream = process.env.WSQ_STREAM || "button_press";
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  report("config_error", { message: `WSQ_PORT is not a port: ${process.env.WSQ_PORT}` });
  process.exit(64);
}
if (stream !== "button_press" && stream !== "head_position") {
  report("config_error", { message: `WSQ_STREAM must be button_press or head_position: ${stream}` });
  process.exit(64);
}

// AppServer.start() asks https://api.mentra.glass/api/sdk/version for the newest SDK
// (3 s axios timeout) before its promise resolves. Tests run without internet: refuse
// every request to a mentra.glass host at once, through the same default axios instance
// the SDK imports, so start-up never waits on the network.
axios.interceptors.request.use((config) => {
  const url = String(config.url || "");
  if (/^https?:\/\/([^/]*\.)?mentra\.glass(\/|:|$)/.test(url)) {
    report("network_blocked", { url });
    throw new Error(`wsquake interop: outbound request blocked: ${url}`);
  }
  return config;
});

class EchoApp extends AppServer {
  async onSession(session, sessionId, userId) {
    report("session", { sessionId, userId });
    const handler = (data) => {
      report("event", { stream, data });
      const text = stream === "button_press"
        ? `button ${data.buttonId} ${data.pressType}`
        : `head ${data.position}`;
      session.layouts.showTextWall(text);
      report("displayed", { text });
    };
    if (stream === "button_press") {
      session.events.onButtonPress(handler);
    } else {
      session.events.onHeadPosition(handler);
    }
    report("subscribed", { stream });
  }

  async onStop(sessionId, userId, reason) {
    report("stop", { sessionId, userId, reason });
    await super.onStop(sessionId, userId, reason);
  }
}

const server = new EchoApp({ packageName, apiKey, port });
await server.start();
report("ready", { port });

const shutdown = () => {
  report("exiting");
  process.exit(0);
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
