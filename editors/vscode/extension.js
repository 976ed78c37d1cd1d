// Starts `twice lsp` for SQL files. Install the dependencies with
// `npm install` in this folder, then run it with F5 from VS Code or package
// it with `npx @vscode/vsce package`.
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function settings() {
  const c = vscode.workspace.getConfiguration("twice");
  return {
    replayOnSave: c.get("replayOnSave", true),
    debounceMs: c.get("debounceMs", 300),
  };
}

function activate(context) {
  const command = vscode.workspace.getConfiguration("twice").get("path", "twice");
  const run = { command, args: ["lsp"], transport: TransportKind.stdio };
  client = new LanguageClient(
    "twice",
    "twice",
    { run, debug: run },
    {
      documentSelector: [
        { scheme: "file", language: "sql" },
        { scheme: "untitled", language: "sql" },
      ],
      initializationOptions: settings(),
      synchronize: { configurationSection: "twice" },
    }
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
