// The DCC's DUIS parser (@smartdcc/duis-parser, parseDuis 'simplified') on many documents in one node
// process (adapters/dcc_tools). Reads a JSON array of file names on stdin; prints one JSON line per
// file, in order: {"ok": true, "duis": <the parser's result>} or {"ok": false, "error": "..."}.
// BigInt counters are written as decimal strings. NODE_PATH names the folder holding the package.
'use strict'
const fs = require('node:fs')
const { parseDuis } = require('@smartdcc/duis-parser')

const files = JSON.parse(fs.readFileSync(0, 'utf-8'))
for (const file of files) {
  let line
  try {
    const duis = parseDuis('simplified', fs.readFileSync(file))
    line = JSON.stringify({ ok: true, duis }, (k, v) => (typeof v === 'bigint' ? v.toString() : v))
  } catch (e) {
    line = JSON.stringify({ ok: false, error: String(e && e.message ? e.message : e) })
  }
  process.stdout.write(line + '\n')
}
