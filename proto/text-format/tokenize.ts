/** config.pbtxt text -> tokens, after libprotobuf's io::Tokenizer (its rules and messages, with line and column). */

export type TokenKind = 'identifier' | 'integer' | 'float' | 'string' | 'symbol' | 'end';

export interface Token {
  kind: TokenKind;
  text: string;
  line: number;
  col: number;
  /** Decoded bytes of a string literal. */
  bytes?: number[];
}

export class ParseError extends Error {
  constructor(
    readonly line: number,
    readonly col: number,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

const SIMPLE_ESCAPES: Record<string, number> = {
  a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '?': 63, "'": 39, '"': 34,
};

function pushUtf8(bytes: number[], code: number): void {
  if (code < 0x80) bytes.push(code);
  else if (code < 0x800) bytes.push(0xc0 | (code >> 6), 0x80 | (code & 63));
  else if (code < 0x10000) bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
  else bytes.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 63), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
}

export class Tokenizer {
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  current: Token;

  constructor(private readonly src: string) {
    this.current = this.read();
  }

  next(): void {
    this.current = this.read();
  }

  private start = 0;

  /** Errors point at the start of the token being read, or at `pos` (an escape) when given. */
  private fail(message: string, pos = this.start): never {
    throw new ParseError(this.line, pos - this.lineStart + 1, '', message);
  }

  private skipSpaceAndComments(): void {
    while (this.pos < this.src.length) {
      const ch = this.src[this.pos];
      if (ch === '\n') {
        this.pos++;
        this.line++;
        this.lineStart = this.pos;
      } else if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\v' || ch === '\f') this.pos++;
      else if (ch === '#') while (this.pos < this.src.length && this.src[this.pos] !== '\n') this.pos++;
      else break;
    }
  }

  private read(): Token {
    this.skipSpaceAndComments();
    const start = (this.start = this.pos);
    const token = (kind: TokenKind, extra?: Partial<Token>): Token => ({
      kind,
      text: this.src.slice(start, this.pos),
      line: this.line,
      col: start - this.lineStart + 1,
      ...extra,
    });
    if (this.pos >= this.src.length) return token('end');
    const ch = this.src[this.pos];
    if (/[A-Za-z_]/.test(ch)) {
      while (this.pos < this.src.length && /[A-Za-z0-9_]/.test(this.src[this.pos])) this.pos++;
      return token('identifier');
    }
    if (/[0-9]/.test(ch) || (ch === '.' && /[0-9]/.test(this.src[this.pos + 1] ?? ''))) return token(this.readNumber(), {});
    if (ch === '"' || ch === "'") {
      const bytes = this.readString(ch);
      return token('string', { bytes });
    }
    if (ch.charCodeAt(0) < 32 || ch.charCodeAt(0) > 126) this.fail(`Invalid character ${JSON.stringify(ch)} in text.`);
    this.pos++;
    return token('symbol');
  }

  private digits(re: RegExp): number {
    const start = this.pos;
    while (this.pos < this.src.length && re.test(this.src[this.pos])) this.pos++;
    return this.pos - start;
  }

  private readNumber(): 'integer' | 'float' {
    const src = this.src;
    let kind: 'integer' | 'float' = 'integer';
    if (src[this.pos] === '0' && /[xX]/.test(src[this.pos + 1] ?? '')) {
      this.pos += 2;
      if (!this.digits(/[0-9A-Fa-f]/)) this.fail('"0x" must be followed by hex digits.');
    } else if (src[this.pos] === '0' && /[0-9]/.test(src[this.pos + 1] ?? '')) {
      this.pos++;
      this.digits(/[0-7]/);
      if (/[89]/.test(src[this.pos] ?? '')) this.fail('Numbers starting with leading zero must be in octal.');
    } else {
      if (src[this.pos] === '.') {
        kind = 'float';
        this.pos++;
        this.digits(/[0-9]/);
      } else {
        this.digits(/[0-9]/);
        if (src[this.pos] === '.') {
          kind = 'float';
          this.pos++;
          this.digits(/[0-9]/);
        }
      }
      if (/[eE]/.test(src[this.pos] ?? '')) {
        kind = 'float';
        this.pos++;
        if (/[+-]/.test(src[this.pos] ?? '')) this.pos++;
        if (!this.digits(/[0-9]/)) this.fail('"e" must be followed by exponent.');
      }
      if (/[fF]/.test(src[this.pos] ?? '')) {
        kind = 'float';
        this.pos++;
      }
    }
    if (/[A-Za-z0-9_.]/.test(src[this.pos] ?? '')) this.fail('Need space between number and identifier.');
    return kind;
  }

  private readString(quote: string): number[] {
    const src = this.src;
    const bytes: number[] = [];
    this.pos++;
    for (;;) {
      if (this.pos >= src.length) this.fail('Unexpected end of string.');
      const ch = src[this.pos];
      if (ch === '\n') this.fail('String literals cannot cross line boundaries.');
      if (ch === quote) {
        this.pos++;
        return bytes;
      }
      if (ch !== '\\') {
        const code = src.codePointAt(this.pos)!;
        pushUtf8(bytes, code);
        this.pos += code > 0xffff ? 2 : 1;
        continue;
      }
      const escapeAt = this.pos;
      const e = src[this.pos + 1] ?? '';
      this.pos += 2;
      if (e in SIMPLE_ESCAPES) bytes.push(SIMPLE_ESCAPES[e]);
      else if (/[0-7]/.test(e)) {
        let value = Number(e);
        for (let i = 0; i < 2 && /[0-7]/.test(src[this.pos] ?? ''); i++) value = value * 8 + Number(src[this.pos++]);
        bytes.push(value & 255);
      } else if (e === 'x' || e === 'X') {
        const start = this.pos;
        if (!this.digitsUpTo(/[0-9A-Fa-f]/, 2)) this.fail('Invalid escape sequence in string literal.', escapeAt);
        bytes.push(parseInt(src.slice(start, this.pos), 16));
      } else if (e === 'u' || e === 'U') {
        const code = this.readUnicodeEscape(e === 'u' ? 4 : 8, escapeAt);
        pushUtf8(bytes, code);
      } else this.fail('Invalid escape sequence in string literal.', escapeAt);
    }
  }

  private digitsUpTo(re: RegExp, max: number): number {
    let n = 0;
    while (n < max && re.test(this.src[this.pos] ?? '')) {
      this.pos++;
      n++;
    }
    return n;
  }

  private readUnicodeEscape(size: number, escapeAt: number): number {
    const hex = this.src.slice(this.pos, this.pos + size);
    if (!new RegExp(`^[0-9A-Fa-f]{${size}}$`).test(hex)) this.fail('Expected four hex digits for \\u escape sequence.', escapeAt);
    this.pos += size;
    let code = parseInt(hex, 16);
    if (code >= 0xd800 && code <= 0xdbff && /^\\u[dD][c-fC-F][0-9A-Fa-f]{2}$/.test(this.src.slice(this.pos, this.pos + 6))) {
      const low = parseInt(this.src.slice(this.pos + 2, this.pos + 6), 16);
      this.pos += 6;
      code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
    }
    if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) this.fail('Invalid escape sequence in string literal.', escapeAt);
    return code;
  }
}
