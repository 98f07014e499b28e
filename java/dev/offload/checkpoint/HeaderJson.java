package dev.offload.checkpoint;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The JSON of a safetensors header, read by the rules of serde_json, the reference implementation's
 * parser (serde-rs/json {@code src/de.rs}, {@code src/read.rs}): RFC 8259 and nothing looser.
 * <ul>
 *   <li>Whitespace is space, tab, CR and LF, before and after the value (the reference writer pads
 *       with spaces). A leading byte-order mark is refused (RFC 8259 section 8.1; serde_json
 *       sees no value there).</li>
 *   <li>Strings: no raw control characters (U+0000..U+001F); escapes are {@code \" \\ \/ \b \f \n \r
 *       \t \}{@code uXXXX}; surrogates must pair: a high one followed by a {@code \}{@code u} low one. A
 *       lone low surrogate or a high one not followed by a low escape is refused, as serde_json
 *       refuses them when it reads a string (every string of a header is read as one: tensor
 *       entries are buffered whole by the reference's {@code #[serde(flatten)]}).</li>
 *   <li>Numbers: {@code -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?}; one whose value overflows a
 *       double is refused ("number out of range"). The literal is kept; callers decide what an
 *       integer is.</li>
 *   <li>Nesting: at most {@value #MAX_DEPTH} arrays and objects, the top-level object included:
 *       serde_json starts {@code remaining_depth} at 128, takes one per container and fails when it
 *       reaches 0.</li>
 *   <li>Literals are {@code true}, {@code false}, {@code null}; no trailing commas, no comments,
 *       nothing after the value but whitespace.</li>
 * </ul>
 * Objects keep every member in order, duplicates included: which duplicates matter is the caller's
 * rule. The input must already be valid UTF-8. Failures are {@link Invalid} with the byte position
 * within the header and the rule in words; nothing else escapes.
 */
final class HeaderJson {
    static final int MAX_DEPTH = 127;

    /** A JSON object: its members in document order, duplicates kept. */
    record Obj(List<Member> members) {}

    record Member(String key, Object value) {}

    /** A JSON array. */
    record Arr(List<Object> items) {}

    /** A JSON number, as written. */
    record Num(String literal) {
        /** The value when it is a non-negative integer literal within 64 unsigned bits (serde's u64), else null. */
        Long unsignedValue() {
            for (int i = 0; i < literal.length(); i++) {
                char c = literal.charAt(i);
                if (c < '0' || c > '9') return null;
            }
            try {
                return Long.parseUnsignedLong(literal);
            } catch (NumberFormatException e) {
                return null;
            }
        }
    }

    /** JSON null. */
    static final Object NULL = new Object() {
        @Override
        public String toString() {
            return "null";
        }
    };

    /** A header that is not JSON by the reference's rules: where, and which rule. */
    static final class Invalid extends Exception {
        final int position;

        Invalid(int position, String rule) {
            super(rule, null, false, false);
            this.position = position;
        }
    }

    private final byte[] in;
    private int pos;

    private HeaderJson(byte[] in) {
        this.in = in;
    }

    /** The header's one top-level value (any JSON value), with nothing after it but whitespace. */
    static Object parse(byte[] utf8) throws Invalid {
        if (utf8.length >= 3 && (utf8[0] & 0xff) == 0xEF && (utf8[1] & 0xff) == 0xBB && (utf8[2] & 0xff) == 0xBF) {
            throw new Invalid(0, "starts with a UTF-8 byte-order mark, which JSON text must not (RFC 8259 section 8.1)");
        }
        HeaderJson p = new HeaderJson(utf8);
        p.skipWhitespace();
        Object value = p.value(0);
        p.skipWhitespace();
        if (p.pos < utf8.length) throw new Invalid(p.pos, "text after the header's JSON value");
        return value;
    }

    private int peek() {
        return pos < in.length ? in[pos] & 0xff : -1;
    }

    private void skipWhitespace() {
        while (pos < in.length) {
            int c = in[pos];
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
            pos++;
        }
    }

    private Object value(int depth) throws Invalid {
        int c = peek();
        return switch (c) {
            case '{' -> object(depth + 1);
            case '[' -> array(depth + 1);
            case '"' -> string();
            case 't' -> literal("true", Boolean.TRUE);
            case 'f' -> literal("false", Boolean.FALSE);
            case 'n' -> literal("null", NULL);
            case -1 -> throw new Invalid(pos, "the JSON ends where a value should be");
            default -> {
                if (c == '-' || (c >= '0' && c <= '9')) yield number();
                throw new Invalid(pos, "expected a value, found " + describe(c));
            }
        };
    }

    private void enter(int depth) throws Invalid {
        if (depth > MAX_DEPTH) {
            throw new Invalid(pos, "arrays and objects nest deeper than " + MAX_DEPTH + " (serde_json's recursion limit of 128)");
        }
    }

    private Obj object(int depth) throws Invalid {
        enter(depth);
        pos++;
        List<Member> members = new ArrayList<>();
        skipWhitespace();
        if (peek() == '}') {
            pos++;
            return new Obj(members);
        }
        while (true) {
            skipWhitespace();
            if (peek() != '"') {
                throw new Invalid(pos, members.isEmpty() || peek() != '}' ? "expected a string key, found " + describe(peek())
                        : "trailing comma before '}'");
            }
            String key = string();
            skipWhitespace();
            if (peek() != ':') throw new Invalid(pos, "expected ':' after the key \"" + key + "\", found " + describe(peek()));
            pos++;
            skipWhitespace();
            members.add(new Member(key, value(depth)));
            skipWhitespace();
            int c = peek();
            pos++;
            if (c == '}') return new Obj(members);
            if (c != ',') throw new Invalid(pos - 1, "expected ',' or '}' after an object member, found " + describe(c));
        }
    }

    private Arr array(int depth) throws Invalid {
        enter(depth);
        pos++;
        List<Object> items = new ArrayList<>();
        skipWhitespace();
        if (peek() == ']') {
            pos++;
            return new Arr(items);
        }
        while (true) {
            skipWhitespace();
            if (peek() == ']' && !items.isEmpty()) throw new Invalid(pos, "trailing comma before ']'");
            items.add(value(depth));
            skipWhitespace();
            int c = peek();
            pos++;
            if (c == ']') return new Arr(items);
            if (c != ',') throw new Invalid(pos - 1, "expected ',' or ']' after an array element, found " + describe(c));
        }
    }

    private Object literal(String word, Object value) throws Invalid {
        for (int i = 0; i < word.length(); i++) {
            if (peek() != word.charAt(i)) throw new Invalid(pos, "expected the literal '" + word + "', found " + describe(peek()));
            pos++;
        }
        return value;
    }

    private Num number() throws Invalid {
        int start = pos;
        if (peek() == '-') pos++;
        if (peek() == '0') {
            pos++;
            if (isDigit(peek())) throw new Invalid(pos, "a number with a leading zero");
        } else if (isDigit(peek())) {
            while (isDigit(peek())) pos++;
        } else {
            throw new Invalid(pos, "expected a digit in a number, found " + describe(peek()));
        }
        boolean integer = true;
        if (peek() == '.') {
            integer = false;
            pos++;
            if (!isDigit(peek())) throw new Invalid(pos, "expected a digit after the decimal point, found " + describe(peek()));
            while (isDigit(peek())) pos++;
        }
        if (peek() == 'e' || peek() == 'E') {
            integer = false;
            pos++;
            if (peek() == '+' || peek() == '-') pos++;
            if (!isDigit(peek())) throw new Invalid(pos, "expected a digit in the exponent, found " + describe(peek()));
            while (isDigit(peek())) pos++;
        }
        String literal = new String(in, start, pos - start, StandardCharsets.US_ASCII);
        if ((!integer || literal.length() > 20) && Double.isInfinite(Double.parseDouble(literal))) {
            throw new Invalid(start, "number out of range: " + abbreviate(literal));
        }
        return new Num(literal);
    }

    private String string() throws Invalid {
        int open = pos++;
        int run = pos;
        StringBuilder out = null;
        while (true) {
            int c = peek();
            if (c == -1) throw new Invalid(open, "a string that never ends");
            if (c == '"') {
                String tail = new String(in, run, pos - run, StandardCharsets.UTF_8);
                pos++;
                return out == null ? tail : out.append(tail).toString();
            }
            if (c < 0x20) throw new Invalid(pos, String.format("control character U+%04X in a string (it must be escaped)", c));
            if (c != '\\') {
                pos++;
                continue;
            }
            if (out == null) out = new StringBuilder();
            out.append(new String(in, run, pos - run, StandardCharsets.UTF_8));
            escape(out);
            run = pos;
        }
    }

    private void escape(StringBuilder out) throws Invalid {
        int at = pos++;
        int c = peek();
        pos++;
        switch (c) {
            case '"' -> out.append('"');
            case '\\' -> out.append('\\');
            case '/' -> out.append('/');
            case 'b' -> out.append('\b');
            case 'f' -> out.append('\f');
            case 'n' -> out.append('\n');
            case 'r' -> out.append('\r');
            case 't' -> out.append('\t');
            case 'u' -> {
                int n = hex4(at);
                if (n >= 0xDC00 && n <= 0xDFFF) {
                    throw new Invalid(at, String.format("lone low surrogate \\u%04x in a string escape (no high surrogate before it)", n));
                }
                if (n < 0xD800 || n > 0xDBFF) {
                    out.append((char) n);
                    return;
                }
                if (peek() != '\\' || pos + 1 >= in.length || in[pos + 1] != 'u') {
                    throw new Invalid(at, String.format("lone high surrogate \\u%04x in a string escape (not followed by a \\u low surrogate)", n));
                }
                int second = pos;
                pos += 2;
                int n2 = hex4(second);
                if (n2 < 0xDC00 || n2 > 0xDFFF) {
                    throw new Invalid(at, String.format("lone high surrogate \\u%04x in a string escape (followed by \\u%04x, not a low surrogate)", n, n2));
                }
                out.append((char) n).append((char) n2);
            }
            case -1 -> throw new Invalid(at, "a string that never ends");
            default -> throw new Invalid(at, "invalid escape \\" + (c < 0x80 && c >= 0x20 ? String.valueOf((char) c) : describe(c)) + " in a string");
        }
    }

    private int hex4(int escapeAt) throws Invalid {
        int n = 0;
        for (int i = 0; i < 4; i++) {
            int c = peek();
            int d = Character.digit(c < 0x80 ? c : -1, 16);
            if (c == -1) throw new Invalid(escapeAt, "a string that never ends");
            if (d < 0) throw new Invalid(escapeAt, "invalid \\u escape: expected four hex digits, found " + describe(c));
            n = n * 16 + d;
            pos++;
        }
        return n;
    }

    private static boolean isDigit(int c) {
        return c >= '0' && c <= '9';
    }

    private static String describe(int c) {
        if (c == -1) return "the end of the header";
        if (c >= 0x21 && c < 0x7f) return "'" + (char) c + "'";
        return String.format("byte 0x%02x", c);
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 37) + "...";
    }
}
