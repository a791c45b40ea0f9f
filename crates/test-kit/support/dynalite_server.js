// Runs dynalite (a DynamoDB emulator whose conditional writes are atomic: every write to an item
// holds that item's lock) on a free loopback port, for the tests and the benchmark.
//
// Prints the endpoint URL on its first line, then serves until its standard input closes, which
// happens when the process that started it exits, however it exits. A missing dynalite is an
// error (exit 3), never a silent skip.
'use strict'

const path = require('path')

const modules = process.env.DYNALITE_MODULES ||
  path.join(__dirname, '..', '..', '..', '.tools', 'node', 'node_modules')

let dynalite
try {
  dynalite = require(path.join(modules, 'dynalite'))
} catch (err) {
  console.error(`dynalite is not installed under ${modules}: run scripts/test, or ` +
    'npm install --prefix .tools/node dynalite@4.0.0 (' + err.message + ')')
  process.exit(3)
}

// Tables are ACTIVE at once: tests create one per test and use it straight away.
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address()
  process.stdout.write(`http://127.0.0.1:${port}\n`)
})
process.stdin.on('data', () => {})
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
