// One pthread of tfjs-backend-wasm's threaded SIMD build, as a Deno
// `node:worker_threads` worker (loaded by `wasm_threads.ts`).
//
// The package ships this script as a string that its loader turns into a
// `blob:` URL, which Deno's workers refuse, and the string assigns
// `globalThis.location`, which a Deno worker only has a getter for. This file
// speaks the same protocol to the Emscripten glue of tfjs-backend-wasm 4.22.0
// (`wasm-out/tfjs-backend-wasm-threaded-simd.js`, the version pinned in
// deno.json): the main thread posts `load` (the compiled module, the shared
// memory, the glue's path), then `run` (a pthread's entry point) for each
// thread it starts; the worker answers `loaded` and the glue's own messages.
// It is CommonJS (`.cjs`) so that the glue can be loaded with `require`.
"use strict";

const { parentPort } = require("node:worker_threads");

/** Messages from the glue running in this worker go to the main thread. */
globalThis.postMessage = (msg) => parentPort.postMessage(msg);

let Module = {};
let initialised = false;
let pendingQueues = [];

function report(text) {
  require("node:fs").writeSync(2, `wasm worker: ${text}\n`);
}

// The glue instantiates the module it was sent, in this worker, on the
// memory shared with the main thread.
Module.instantiateWasm = (imports, receive) => {
  const instance = new WebAssembly.Instance(Module.wasmModule, imports);
  receive(instance);
  Module.wasmModule = null;
  return instance.exports;
};

// The glue calls this when its runtime is ready in this worker.
globalThis.startWorker = (instance) => {
  Module = instance;
  globalThis.postMessage({ cmd: "loaded" });
};

function onMessage(data) {
  try {
    if (data.cmd === "load") {
      Module.wasmModule = data.wasmModule;
      for (const handler of data.handlers) {
        Module[handler] = (...args) =>
          globalThis.postMessage({ cmd: "callHandler", handler, args });
      }
      Module.wasmMemory = data.wasmMemory;
      Module.buffer = data.wasmMemory.buffer;
      Module.ENVIRONMENT_IS_PTHREAD = true;
      if (typeof data.urlOrBlob !== "string") {
        throw new Error("the main thread sent no path to the wasm glue");
      }
      require(data.urlOrBlob)(Module);
    } else if (data.cmd === "run") {
      Module.__emscripten_thread_init(data.pthread_ptr, 0, 0, 1);
      Module.establishStackSpace();
      Module.PThread.receiveObjectTransfer(data);
      Module.PThread.threadInitTLS();
      if (!initialised) {
        for (const queue of pendingQueues) {
          Module.executeNotifiedProxyingQueue(queue);
        }
        pendingQueues = [];
        initialised = true;
      }
      try {
        Module.invokeEntryPoint(data.start_routine, data.arg);
      } catch (e) {
        // "unwind" is how a pthread that keeps the runtime alive returns.
        if (e !== "unwind") {
          if (e instanceof Module.ExitStatus) {
            if (!Module.keepRuntimeAlive()) {
              Module.__emscripten_thread_exit(e.status);
            }
          } else {
            throw e;
          }
        }
      }
    } else if (data.cmd === "cancel") {
      if (Module._pthread_self()) Module.__emscripten_thread_exit(-1);
    } else if (data.target === "setimmediate") {
      // The glue's setImmediate polyfill: nothing to do in a worker.
    } else if (data.cmd === "processProxyingQueue") {
      if (initialised) Module.executeNotifiedProxyingQueue(data.queue);
      else pendingQueues.push(data.queue);
    } else if (data.cmd) {
      report(`unknown command ${data.cmd}`);
    }
  } catch (e) {
    if (Module.__emscripten_thread_crashed) {
      Module.__emscripten_thread_crashed();
    }
    throw e;
  }
}

parentPort.on("message", onMessage);
