#!/usr/bin/env node
'use strict'
// Writes dist/fast.cjs.cache: V8's code cache for the fast-path bundle, made after the
// bundle's top level ran (so the functions it compiled are in it). bin/run.cjs loads the
// bundle with it and V8 skips parsing 150 kB on every `run`/`exec`. V8 checks the cache
// against the source and its own version and flags; a rejected cache only costs the parse.
const fs = require('node:fs')
const path = require('node:path')
const vm = require('node:vm')
const Module = require('node:module')

const file = path.join(__dirname, '..', 'dist', 'fast.cjs')
const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), {filename: file})
const mod = {exports: {}}
script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file))
fs.writeFileSync(`${file}.cache`, script.createCachedData())
