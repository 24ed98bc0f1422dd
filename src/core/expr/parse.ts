// Parser of JS7's expression language (as JS7's ExpressionParser reads it), hand-written
// recursive descent so that every error names its position.
//
// Precedence, lowest first: `if … then … else …`; `in`, `matches`; `||`; `&&`; `==` `!=`;
// `<` `<=` `>` `>=`; `+` `-` `++`; `*` `/`; prefix `!` and `-`; `a ? b` and `a?`;
// `.field` and `(index)`; literals, `$name`, calls and parentheses.
// Whitespace and comments (`/* … */`, `// …`) may stand between tokens.

import { LIMITS } from '../model.js';
import type { BinaryOp, CallArgument, Expr, Result, Where } from './ast.js';
import { MISSING } from './ast.js';

/** Names usable without parentheses (and with empty ones). */
export const SYMBOLS: ReadonlySet<string> = new Set([
  'orderId',
  'workflowPath',
  'label',
  'controllerId',
  'job',
  'jobName',
  'tryCount',
  'maxTries',
  'catchCount',
  'timedOut',
  'workflowPosition',
  'workflow',
]);

/** Functions and the number of positional arguments they take: [min, max]; named ones in `names`. */
const FUNCTIONS: Readonly<Record<string, { min: number; max: number; names?: readonly string[] }>> = {
  toNumber: { min: 1, max: 1 },
  toBoolean: { min: 1, max: 1 },
  stripMargin: { min: 1, max: 1 },
  mkString: { min: 1, max: 1 },
  replaceAll: { min: 3, max: 3 },
  substring: { min: 2, max: 3 },
  match: { min: 3, max: 3 },
  min: { min: 2, max: 2 },
  max: { min: 2, max: 2 },
  env: { min: 1, max: 2, names: ['name', 'default'] },
  now: { min: 1, max: 2, names: ['format', 'timezone'] },
  scheduledOrEmpty: { min: 1, max: 2, names: ['format', 'timezone'] },
  jobResourceVariable: { min: 2, max: 2, names: ['jobResource', 'name'] },
};

const KEYWORDS = new Set(['argument', 'false', 'else', 'error', 'in', 'if', 'matches', 'missing', 'then', 'true', 'variable']);

const OPERATOR_CHARS = new Set('!#%&*+-/:<=>?@^|~');

function isIdentStart(c: string | undefined): boolean {
  return c !== undefined && /[\p{L}\p{Nl}_]/u.test(c);
}
function isIdentPart(c: string | undefined): boolean {
  return c !== undefined && /[\p{L}\p{Nl}\p{Nd}\p{Mn}\p{Mc}\p{Pc}]/u.test(c);
}

class ParseError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(message);
  }
}

/** Parses an expression; the problem names the 1-based position of the error. */
export function parseExpression(text: string): Result<Expr> {
  if (text.length > LIMITS.expressionLengthMax) {
    return { ok: false, problem: { message: `expression longer than ${LIMITS.expressionLengthMax} characters`, position: 1 } };
  }
  const p = new Parser(text);
  try {
    p.w();
    if (p.atEnd()) throw new ParseError('empty expression', p.pos);
    const e = p.expression();
    p.w();
    if (!p.atEnd()) throw new ParseError(`unexpected ${p.describeHere()}`, p.pos);
    return { ok: true, value: e };
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, problem: { message: e.message, position: e.at + 1 } };
    throw e;
  }
}

class Parser {
  pos = 0;
  private depth = 0;

  constructor(private readonly s: string) {}

  atEnd(): boolean {
    return this.pos >= this.s.length;
  }

  private peek(n = 0): string | undefined {
    return this.s[this.pos + n];
  }

  describeHere(): string {
    if (this.atEnd()) return 'end of expression';
    const rest = this.s.slice(this.pos, this.pos + 12);
    return `'${rest}${this.s.length - this.pos > 12 ? '…' : ''}'`;
  }

  private fail(message: string, at = this.pos): never {
    throw new ParseError(message, at);
  }

  /** Whitespace and comments. */
  w(): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') this.pos++;
      else if (c === '/' && this.peek(1) === '*') {
        const end = this.s.indexOf('*/', this.pos + 2);
        if (end < 0) this.fail('unterminated comment');
        this.pos = end + 2;
      } else if (c === '/' && this.peek(1) === '/') {
        const end = this.s.indexOf('\n', this.pos);
        this.pos = end < 0 ? this.s.length : end;
      } else return;
    }
  }

  /** An operator symbol, not followed by another operator character (`<` does not match `<=`). */
  private symbol(sym: string): boolean {
    if (!this.s.startsWith(sym, this.pos)) return false;
    const next = this.s[this.pos + sym.length];
    if (next !== undefined && OPERATOR_CHARS.has(next)) {
      const rest = this.s.slice(this.pos + sym.length, this.pos + sym.length + 2);
      if (rest !== '/*' && rest !== '//') return false;
    }
    this.pos += sym.length;
    return true;
  }

  private keyword(word: string): boolean {
    if (!this.s.startsWith(word, this.pos) || isIdentPart(this.s[this.pos + word.length])) return false;
    this.pos += word.length;
    return true;
  }

  private expect(c: string, what: string): void {
    this.w();
    if (this.peek() !== c) this.fail(`expected ${what}, found ${this.describeHere()}`);
    this.pos++;
  }

  private nested<T>(f: () => T): T {
    if (++this.depth > LIMITS.expressionDepthMax) this.fail(`expression nested deeper than ${LIMITS.expressionDepthMax}`);
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  expression(): Expr {
    return this.nested(() => this.ifThenElse());
  }

  private ifThenElse(): Expr {
    const at = this.pos;
    if (this.keyword('if')) {
      this.w();
      const cond = this.wordOperation();
      this.w();
      if (!this.keyword('then')) this.fail(`expected 'then', found ${this.describeHere()}`);
      this.w();
      const then = this.expression();
      this.w();
      if (!this.keyword('else')) this.fail(`expected 'else', found ${this.describeHere()}`);
      this.w();
      const els = this.expression();
      return { k: 'if', cond, then, else: els, at };
    }
    return this.wordOperation();
  }

  private leftAssoc(next: () => Expr, ops: readonly BinaryOp[], word = false): Expr {
    let a = next();
    for (;;) {
      const save = this.pos;
      this.w();
      const at = this.pos;
      const op = ops.find((o) => (word ? this.keyword(o) : this.symbol(o)));
      if (op === undefined) {
        this.pos = save;
        return a;
      }
      this.w();
      const b = next();
      a = { k: 'binary', op, a, b, at };
    }
  }

  private wordOperation(): Expr {
    return this.leftAssoc(() => this.or(), ['in', 'matches'], true);
  }
  private or(): Expr {
    return this.leftAssoc(() => this.and(), ['||']);
  }
  private and(): Expr {
    return this.leftAssoc(() => this.equal(), ['&&']);
  }
  private equal(): Expr {
    return this.leftAssoc(() => this.comparison(), ['==', '!=']);
  }
  private comparison(): Expr {
    return this.leftAssoc(() => this.addition(), ['<=', '>=', '<', '>']);
  }
  private addition(): Expr {
    return this.leftAssoc(() => this.multiplication(), ['++', '+', '-']);
  }
  private multiplication(): Expr {
    return this.leftAssoc(() => this.prefix(), ['*', '/']);
  }

  private prefix(): Expr {
    const at = this.pos;
    if (this.symbol('!')) {
      this.w();
      return { k: 'not', a: this.nested(() => this.prefix()), at };
    }
    if (this.peek() === '-' && !/[0-9]/.test(this.peek(1) ?? '') && this.symbol('-')) {
      this.w();
      return { k: 'negate', a: this.nested(() => this.prefix()), at };
    }
    return this.questionMark();
  }

  private questionMark(): Expr {
    let a = this.dotOrIndex();
    for (;;) {
      const save = this.pos;
      this.w();
      const at = this.pos;
      if (!this.symbol('?')) {
        this.pos = save;
        return a;
      }
      const afterMark = this.pos;
      this.w();
      if (this.startsFactor()) {
        a = { k: 'catch', a, default: this.dotOrIndex(), at };
      } else {
        this.pos = afterMark;
        a = { k: 'catch', a, at };
      }
    }
  }

  private startsFactor(): boolean {
    const c = this.peek();
    if (c === undefined) return false;
    if (/[0-9'"([{$]/.test(c)) return true;
    if ((c === '-' || c === '+') && /[0-9]/.test(this.peek(1) ?? '')) return true;
    if (c === '`' || isIdentStart(c)) {
      // Not a word operator continuing the outer expression.
      const m = /^[\p{L}_][\p{L}\p{Nd}_]*/u.exec(this.s.slice(this.pos));
      return !(m && ['in', 'matches', 'then', 'else'].includes(m[0]));
    }
    return false;
  }

  private dotOrIndex(): Expr {
    let a = this.factor();
    for (;;) {
      const save = this.pos;
      this.w();
      const at = this.pos;
      if (this.peek() === '.' && !/[0-9]/.test(this.peek(1) ?? '')) {
        this.pos++;
        this.w();
        const name = this.identifier('a name after .');
        // Older spellings: `$x.toNumber`, `$x.toBoolean`, `$x.stripMargin`, `$x.mkString`.
        if (['toNumber', 'toBoolean', 'stripMargin', 'mkString'].includes(name)) {
          a = { k: 'call', name, args: [{ expr: a }], at };
        } else {
          a = { k: 'dot', a, name, at };
        }
      } else if (this.peek() === '(') {
        this.pos++;
        this.w();
        const index = this.expression();
        this.expect(')', "')'");
        a = { k: 'index', a, index, at };
      } else {
        this.pos = save;
        return a;
      }
    }
  }

  /** A simple identifier or one in backticks. */
  private identifier(what: string): string {
    const c = this.peek();
    if (c === '`') {
      let name = '';
      while (this.peek() === '`') {
        const end = this.s.indexOf('`', this.pos + 1);
        const nl = this.s.indexOf('\n', this.pos + 1);
        if (end < 0 || (nl >= 0 && nl < end)) this.fail('unterminated `name`');
        if (name !== '') name += '`';
        name += this.s.slice(this.pos + 1, end);
        this.pos = end + 1;
      }
      if (name === '') this.fail('a name in backticks (`) must not be empty', this.pos - 2);
      return name;
    }
    if (!isIdentStart(c)) this.fail(`expected ${what}, found ${this.describeHere()}`);
    const start = this.pos;
    this.pos++;
    while (isIdentPart(this.peek())) this.pos++;
    return this.s.slice(start, this.pos);
  }

  private factor(): Expr {
    this.w();
    const at = this.pos;
    const c = this.peek();
    if (c === undefined) this.fail('expected a value, found end of expression');
    if (c === '(') {
      this.pos++;
      this.w();
      const e = this.expression();
      this.expect(')', "')'");
      return e;
    }
    if (c === '[') {
      this.pos++;
      const items = this.commaSequence(']', () => this.expression());
      return { k: 'list', items, at };
    }
    if (c === '{') {
      this.pos++;
      const seen = new Set<string>();
      const fields = this.commaSequence('}', (): [string, Expr] => {
        const nameAt = this.pos;
        const name = this.identifier('a field name');
        if (seen.has(name)) this.fail(`field '${name}' given twice`, nameAt);
        seen.add(name);
        this.w();
        if (!this.symbol(':')) this.fail(`expected ':' after field name, found ${this.describeHere()}`);
        this.w();
        return [name, this.expression()];
      });
      return { k: 'object', fields, at };
    }
    if (c === "'") return { k: 'const', value: this.singleQuoted(), at };
    if (c === '"') return this.doubleQuoted();
    if (c === '$') return this.dollar();
    if (/[0-9]/.test(c) || ((c === '-' || c === '+') && /[0-9]/.test(this.peek(1) ?? ''))) return this.number();
    if (this.keyword('true')) return { k: 'const', value: true, at };
    if (this.keyword('false')) return { k: 'const', value: false, at };
    if (this.keyword('missing')) return { k: 'const', value: MISSING, at };
    if (this.keyword('null')) return { k: 'const', value: MISSING, at };
    if (this.s.startsWith('JobResource:', this.pos)) return this.jobResource();
    if (this.keyword('error')) {
      this.expect('(', "'(' after error");
      this.w();
      const a = this.expression();
      this.expect(')', "')'");
      return { k: 'error', a, at };
    }
    if (this.keyword('argument')) return this.namedValue(at, true);
    if (this.keyword('variable')) return this.namedValue(at, false);
    if (c === '`' || isIdentStart(c)) return this.call();
    this.fail(`expected a value, found ${this.describeHere()}`);
  }

  private commaSequence<T>(close: string, item: () => T): T[] {
    const items: T[] = [];
    this.w();
    if (this.peek() === close) {
      this.pos++;
      return items;
    }
    for (;;) {
      this.w();
      items.push(item());
      this.w();
      if (this.peek() === ',') {
        this.pos++;
        continue;
      }
      if (this.peek() === close) {
        this.pos++;
        return items;
      }
      this.fail(`expected ',' or '${close}', found ${this.describeHere()}`);
    }
  }

  private number(): Expr {
    const at = this.pos;
    const m = /^[+-]?[0-9]+(\.[0-9]+)?/.exec(this.s.slice(this.pos));
    if (!m) this.fail('expected a number');
    this.pos += m[0].length;
    const value = Number(m[0]);
    if (!Number.isFinite(value)) this.fail('number out of range', at);
    return { k: 'const', value, at };
  }

  /** `'…'`, `''…''` (may contain single `'`), … — no escapes; CR LF becomes LF. */
  private singleQuoted(): string {
    const at = this.pos;
    let n = 0;
    while (this.peek() === "'") {
      n++;
      this.pos++;
    }
    if (n === 2 && (this.atEnd() || this.peek() !== "'")) {
      // `''` alone is not the empty string in JS7 (use "").
      const quote = "''";
      const end = this.s.indexOf(quote, this.pos);
      if (end === this.pos) this.fail('use "" (not \'\') for the empty string', at);
      if (end < 0) this.fail(`unterminated ''…''-quoted string`, at);
      const text = this.s.slice(this.pos, end);
      this.pos = end + 2;
      return text.replace(/\r\n/g, '\n');
    }
    if (n === 1) {
      const end = this.s.indexOf("'", this.pos);
      if (end < 0) this.fail("unterminated '…'-quoted string", at);
      const text = this.s.slice(this.pos, end);
      this.pos = end + 1;
      return text.replace(/\r\n/g, '\n');
    }
    // n ≥ 3: up to the next run of exactly n quotes.
    const quote = "'".repeat(n);
    let from = this.pos;
    for (;;) {
      const end = this.s.indexOf(quote, from);
      if (end < 0) this.fail(`unterminated ${quote}…${quote}-quoted string`, at);
      if (this.s[end + n] === "'") {
        from = end + 1;
        continue;
      }
      const text = this.s.slice(this.pos, end);
      this.pos = end + n;
      return text.replace(/\r\n/g, '\n');
    }
  }

  /** `"…"` with escapes `\\ \" \t \r \n \$` and `$name`, `${name}`, `$(expr)` inside. */
  private doubleQuoted(): Expr {
    const at = this.pos;
    this.pos++;
    const parts: Expr[] = [];
    let text = '';
    let textAt = this.pos;
    const flush = (): void => {
      if (text !== '') parts.push({ k: 'const', value: text, at: textAt });
      text = '';
    };
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail('unterminated "…"-quoted string', at);
      if (c === '"') {
        this.pos++;
        break;
      }
      if (c === '\\') {
        const e = this.peek(1);
        const map: Record<string, string> = { '\\': '\\', '"': '"', t: '\t', r: '\r', n: '\n', $: '$' };
        const r = e === undefined ? undefined : map[e];
        if (r === undefined) this.fail('expected one of \\\\ \\" \\t \\r \\n \\$ after a backslash');
        text += r;
        this.pos += 2;
        continue;
      }
      if (c === '$') {
        flush();
        const dollarAt = this.pos;
        if (this.peek(1) === '(') {
          this.pos += 2;
          this.w();
          parts.push(this.expression());
          this.expect(')', "')'");
        } else {
          parts.push(this.dollar());
        }
        textAt = this.pos;
        void dollarAt;
        continue;
      }
      text += c;
      this.pos++;
    }
    flush();
    if (parts.length === 0) return { k: 'const', value: '', at };
    if (parts.length === 1 && parts[0]!.k === 'const') return { ...parts[0]!, at };
    return { k: 'interpolate', parts, at };
  }

  /** `$name`, `$1` (a regex group), `${name}`, `${name.field}`, `` $`name` ``. */
  private dollar(): Expr {
    const at = this.pos;
    this.pos++;
    const c = this.peek();
    if (c !== undefined && /[0-9]/.test(c)) {
      const m = /^[0-9]+/.exec(this.s.slice(this.pos))!;
      this.pos += m[0].length;
      return { k: 'var', name: m[0], at };
    }
    if (c === '{') {
      this.pos++;
      const name = this.identifier('a name after ${');
      let e: Expr = { k: 'var', name, at };
      while (this.peek() === '.') {
        const dotAt = this.pos;
        this.pos++;
        e = { k: 'dot', a: e, name: this.identifier('a name after .'), at: dotAt };
      }
      if (this.peek() !== '}') this.fail(`expected '}', found ${this.describeHere()}`);
      this.pos++;
      return e;
    }
    if (c === '`' || isIdentStart(c)) return { k: 'var', name: this.identifier('a name after $'), at };
    this.fail(`expected a name after $, found ${this.describeHere()}`);
  }

  private jobResource(): Expr {
    const at = this.pos;
    this.pos += 'JobResource:'.length;
    const m = /^[A-Za-z0-9_.-]+/.exec(this.s.slice(this.pos));
    if (!m) this.fail('expected the name of a job resource after JobResource:');
    this.pos += m[0].length;
    let name: string | undefined;
    if (this.peek() === ':') {
      this.pos++;
      name = this.identifier('a variable name');
    }
    return { k: 'jobResource', resource: m[0], name, at };
  }

  /** `argument(key, default=…)` / `variable(key, label=L, job=J, default=…)`. */
  private namedValue(at: number, argument: boolean): Expr {
    this.expect('(', `'(' after ${argument ? 'argument' : 'variable'}`);
    let key: Expr | undefined;
    let dflt: Expr | undefined;
    let where: Where = argument ? { kind: 'argument' } : { kind: 'last' };
    const seen = new Set<string>();
    this.commaSequence(')', () => {
      const argAt = this.pos;
      const name = this.argName();
      if (name !== undefined) {
        if (seen.has(name)) this.fail(`${name}= given twice`, argAt);
        seen.add(name);
      }
      if (name === undefined || name === 'key') {
        if (key !== undefined) this.fail('the key is given twice', argAt);
        key = this.expression();
      } else if (name === 'default') {
        dflt = this.expression();
      } else if (!argument && (name === 'label' || name === 'job')) {
        if (where.kind !== 'last') this.fail('give label= or job=, not both', argAt);
        const id = this.identifier(`a ${name} name`);
        where = name === 'label' ? { kind: 'label', label: id } : { kind: 'job', job: id };
      } else {
        this.fail(`unknown argument ${name}= of ${argument ? 'argument' : 'variable'}()`, argAt);
      }
    });
    if (key === undefined) this.fail(`${argument ? 'argument' : 'variable'}() needs a key`, at);
    return { k: 'named', where, key, default: dflt, at };
  }

  /** `name=` before an argument (not `==`), or undefined. */
  private argName(): string | undefined {
    const m = /^([\p{L}_][\p{L}\p{Nd}_]*)\s*=(?!=)/u.exec(this.s.slice(this.pos));
    if (!m) return undefined;
    this.pos += m[0].length;
    this.w();
    return m[1];
  }

  private call(): Expr {
    const at = this.pos;
    const name = this.identifier('a name');
    const save = this.pos;
    this.w();
    if (this.peek() !== '(') {
      this.pos = save;
      if (SYMBOLS.has(name)) return { k: 'symbol', name, at };
      if (KEYWORDS.has(name)) this.fail(`unexpected '${name}'; parentheses missing?`, at);
      if (name in FUNCTIONS) this.fail(`${name} needs parentheses: ${name}(…)`, at);
      this.fail(`unknown name '${name}' (a variable is written $${name})`, at);
    }
    this.pos++;
    const args = this.commaSequence(')', (): CallArgument => {
      const argName = this.argName();
      const expr = this.expression();
      return argName === undefined ? { expr } : { name: argName, expr };
    });
    if (SYMBOLS.has(name)) {
      if (args.length > 0) this.fail(`${name} takes no arguments`, at);
      return { k: 'symbol', name, at };
    }
    const f = FUNCTIONS[name];
    if (f === undefined) this.fail(`unknown function '${name}'`, at);
    const names = f.names ?? [];
    let positional = true;
    const given = new Set<number>();
    args.forEach((a, i) => {
      let index = i;
      if (a.name !== undefined) {
        positional = false;
        index = names.indexOf(a.name);
        if (index < 0) this.fail(`${name}() has no argument ${a.name}=`, a.expr.at);
      } else if (!positional) {
        this.fail(`${name}(): a positional argument after a named one`, a.expr.at);
      }
      if (given.has(index)) this.fail(`${name}(): argument ${index + 1} given twice`, a.expr.at);
      given.add(index);
    });
    const count = given.size === 0 ? 0 : Math.max(...given) + 1;
    if (count < f.min || count > f.max || given.size < f.min) {
      const want = f.min === f.max ? `${f.min}` : `${f.min} to ${f.max}`;
      this.fail(`${name}() takes ${want} argument${f.max === 1 ? '' : 's'}`, at);
    }
    // Normalise to positional order.
    const ordered: CallArgument[] = [];
    args.forEach((a, i) => {
      const index = a.name === undefined ? i : names.indexOf(a.name);
      ordered[index] = { expr: a.expr };
    });
    for (let i = 0; i < ordered.length; i++) if (ordered[i] === undefined) this.fail(`${name}(): argument ${names[i] ?? i + 1} missing`, at);
    return { k: 'call', name, args: ordered, at };
  }
}
