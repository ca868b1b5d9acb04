// The TypeScript blocks of the README quick starts: the root README's `## Quick start` and every
// `packages/*/README.md`'s `## Quick start` (with its `###` subsections), in order, unchanged.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * @param {string} root repository root
 * @returns {{ name: string, source: string, line: number, code: string }[]}
 *   `source` is the README's path, `line` the block's first code line (1-based).
 */
export function quickStartSnippets(root) {
  const readmes = ['README.md'];
  for (const dir of readdirSync(join(root, 'packages')).sort()) {
    if (existsSync(join(root, 'packages', dir, 'README.md'))) readmes.push(`packages/${dir}/README.md`);
  }
  const snippets = [];
  for (const source of readmes) {
    const lines = readFileSync(join(root, source), 'utf8').split('\n');
    const label = source === 'README.md' ? 'root' : source.split('/')[1];
    let inSection = false;
    let block = null;
    let count = 0;
    lines.forEach((text, index) => {
      if (block) {
        if (/^```\s*$/.test(text)) {
          count += 1;
          snippets.push({ name: `${label}-${count}`, source, line: block.line, code: block.lines.join('\n') + '\n' });
          block = null;
        } else block.lines.push(text);
        return;
      }
      if (/^## /.test(text)) inSection = /^## Quick start\b/i.test(text);
      else if (inSection && /^```(ts|typescript)\s*$/.test(text)) block = { line: index + 2, lines: [] };
    });
  }
  return snippets;
}

/**
 * Splits a snippet into its import declarations and the rest, so that it can be wrapped in an
 * async function for CommonJS (no top-level await there).
 */
export function splitImports(code) {
  const imports = [];
  const body = [];
  let current = null;
  for (const line of code.split('\n')) {
    if (current) {
      current.push(line);
      if (/\bfrom\s+['"][^'"]+['"];?\s*(\/\/.*)?$/.test(line)) {
        imports.push(current.join('\n'));
        current = null;
      }
    } else if (/^import\s/.test(line)) {
      if (/\bfrom\s+['"][^'"]+['"];?\s*(\/\/.*)?$/.test(line) || /^import\s+['"][^'"]+['"];?\s*$/.test(line)) imports.push(line);
      else current = [line];
    } else body.push(line);
  }
  if (current) body.push(...current);
  return { imports: imports.join('\n'), body: body.join('\n') };
}

/** The local names an import declaration binds, with how to write each back. */
function importBindings(statement) {
  const m = /^import\s+(type\s+)?([\s\S]*?)\s+from\s+(['"][^'"]+['"])/.exec(statement.trim());
  if (!m) return [];
  const [, typeOnly, clause, from] = m;
  const out = [];
  const named = /\{([\s\S]*)\}/.exec(clause);
  const rest = clause.replace(/\{[\s\S]*\}/, '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const part of rest) {
    const ns = /^\*\s+as\s+([\w$]+)$/.exec(part);
    if (ns) out.push({ name: ns[1], text: `import ${typeOnly ?? ''}* as ${ns[1]} from ${from};` });
    else out.push({ name: part, text: `import ${typeOnly ?? ''}${part} from ${from};` });
  }
  for (const spec of named ? named[1].split(',').map((s) => s.trim()).filter(Boolean) : []) {
    const name = spec.split(/\s+as\s+/).pop().replace(/^type\s+/, '');
    out.push({ name, text: `import ${typeOnly ?? ''}{ ${spec} } from ${from};` });
  }
  return out;
}

/** Names a block binds itself: its imports and its top-level-looking declarations. */
function boundNames(code) {
  const names = new Set(splitImportStatements(code).flatMap((s) => importBindings(s)).map((b) => b.name));
  for (const [, name] of code.matchAll(/\b(?:const|let|var|function|class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/g)) names.add(name);
  return names;
}

/**
 * The imports a block takes over from the earlier blocks of the same quick start, as a reader
 * continuing in one file would: every name an earlier block imported that this block uses but
 * neither imports nor declares itself.
 */
export function inheritedImports(snippets, index) {
  const own = boundNames(snippets[index].code);
  const { body } = splitImports(snippets[index].code);
  const uses = (name) => new RegExp(`(^|[^\\w$.])${name.replace(/\$/g, '\\$')}(?![\\w$])`).test(body);
  const lines = [];
  for (let j = 0; j < index; j += 1) {
    if (snippets[j].source !== snippets[index].source) continue;
    for (const statement of splitImportStatements(snippets[j].code)) {
      for (const binding of importBindings(statement)) {
        if (own.has(binding.name) || !uses(binding.name)) continue;
        own.add(binding.name);
        lines.push(binding.text);
      }
    }
  }
  return lines.join('\n');
}

function splitImportStatements(code) {
  const { imports } = splitImports(code);
  const statements = [];
  let current = '';
  for (const line of imports.split('\n')) {
    current += (current ? '\n' : '') + line;
    if (/\bfrom\s+['"][^'"]+['"];?\s*(\/\/.*)?$/.test(line) || /^import\s+['"]/.test(line)) {
      statements.push(current.replace(/\s*\/\/.*$/, ''));
      current = '';
    }
  }
  return statements;
}
