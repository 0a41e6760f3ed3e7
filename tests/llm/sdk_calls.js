// Plain and streaming calls with the unmodified official SDKs, the way a user's agent
// makes them: default base URLs (https://api.openai.com/v1, https://api.anthropic.com),
// keys from the environment, no proxy or CA options — agentsh must make it work
// (NODE_EXTRA_CA_CERTS, redirected connections). Driven by
// tests/integration/llm_exec_e2e_test.cc under `agentsh exec`.
//
// Prints one JSON object per call: {"call": name, "text": what the model said, ...};
// on failure {"call": name, "error": message} and exit status 1 at the end.
'use strict';

let OpenAI, Anthropic;
try {
  OpenAI = require('openai').default;
  Anthropic = require('@anthropic-ai/sdk').default;
} catch (e) {
  console.error('tests/llm: SDKs not installed (' + e.message + '): run `make deps`');
  process.exit(3);
}

// The secret the agent puts in its prompt: the provider must never receive it.
const SECRET = 'AKIAIOSFODNN7EXAMPLE';
const model = process.argv[2] || 'leak';

async function openaiPlain(c) {
  const r = await c.chat.completions.create({
    model,
    messages: [{role: 'user', content: 'my key is ' + SECRET}],
  });
  return {text: r.choices[0].message.content, usage: r.usage};
}

async function openaiStream(c) {
  const s = await c.chat.completions.create({
    model,
    stream: true,
    stream_options: {include_usage: true},
    messages: [{role: 'user', content: 'my key is ' + SECRET}],
  });
  let text = '', usage = null;
  for await (const chunk of s) {
    for (const ch of chunk.choices) text += (ch.delta && ch.delta.content) || '';
    if (chunk.usage) usage = chunk.usage;
  }
  return {text, usage};
}

async function anthropicPlain(c) {
  const r = await c.messages.create({
    model,
    max_tokens: 64,
    messages: [{role: 'user', content: 'my key is ' + SECRET}],
  });
  return {text: r.content.map((b) => b.text || '').join(''), usage: r.usage};
}

async function anthropicStream(c) {
  const s = await c.messages.create({
    model,
    max_tokens: 64,
    stream: true,
    messages: [{role: 'user', content: 'my key is ' + SECRET}],
  });
  let text = '';
  for await (const ev of s) {
    if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
  }
  return {text};
}

async function main() {
  const openai = new OpenAI({maxRetries: 0, timeout: 20000});
  const anthropic = new Anthropic({maxRetries: 0, timeout: 20000});
  const calls = [
    ['openai.plain', () => openaiPlain(openai)],
    ['openai.stream', () => openaiStream(openai)],
    ['anthropic.plain', () => anthropicPlain(anthropic)],
    ['anthropic.stream', () => anthropicStream(anthropic)],
  ];
  let failed = false;
  for (const [name, fn] of calls) {
    try {
      console.log(JSON.stringify({call: name, ...(await fn())}));
    } catch (e) {
      failed = true;
      let cause = '';
      for (let c = e.cause; c; c = c.cause) cause += ' <- ' + (c.code ? c.code + ' ' : '') + c.message;
      console.log(JSON.stringify({call: name, error: String(e.message) + cause}));
    }
  }
  process.exit(failed ? 1 : 0);
}

main();
