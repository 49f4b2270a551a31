/**
 * The project's own ESC/POS reader for tests: decodes bytes back into printed lines and the
 * list of commands, and fails loudly on any byte sequence it does not know — so a test can
 * prove that no command came from data.
 */
import CodepageEncoder from "@point-of-sale/codepage-encoder";

/** What a byte stream does on paper. */
export interface EscPosDoc {
  /** Printed text lines (LF-separated). */
  lines: string[];
  /** Command names in order: init, font, codepage, bold, size, align, qr, barcode, cut, pulse, ... */
  commands: string[];
  /** QR and barcode payloads, in order. */
  codes: { kind: "qr" | "barcode"; value: string }[];
}

/** Reads ESC/POS bytes. `codepages` maps `ESC t n` numbers to code page names. */
export function readEscPos(
  b: Uint8Array,
  codepages: Record<number, string> = { 0: "cp437", 19: "cp858", 16: "windows1252" },
): EscPosDoc {
  const lines: string[] = [];
  const commands: string[] = [];
  const codes: EscPosDoc["codes"] = [];
  let cur = "";
  let table: number[] = CodepageEncoder.getCodepoints("cp437" as never, true);
  let i = 0;
  const need = (n: number) => {
    if (i + n > b.length) throw new Error(`truncated command at byte ${i}`);
  };
  while (i < b.length) {
    const c = b[i];
    if (c === 0x0a) {
      lines.push(cur);
      cur = "";
      i++;
      continue;
    }
    if (c >= 0x20 && c !== 0x7f) {
      cur += c < 0x80 ? String.fromCharCode(c) : String.fromCodePoint(table[c] ?? 0xfffd);
      i++;
      continue;
    }
    const b1 = b[i + 1], b2 = b[i + 2];
    if (c === 0x1b) {
      need(2);
      switch (b1) {
        case 0x40:
          commands.push("init");
          i += 2;
          continue;
        case 0x4d:
          need(3);
          commands.push(`font:${b2}`);
          i += 3;
          continue;
        case 0x74: {
          need(3);
          commands.push(`codepage:${b2}`);
          const name = codepages[b2];
          if (!name) throw new Error(`unknown code page number ${b2}`);
          table = CodepageEncoder.getCodepoints(name as never, true);
          i += 3;
          continue;
        }
        case 0x45:
          need(3);
          commands.push(`bold:${b2 ? 1 : 0}`);
          i += 3;
          continue;
        case 0x2d:
          need(3);
          commands.push(`underline:${b2}`);
          i += 3;
          continue;
        case 0x61:
          need(3);
          commands.push(`align:${b2}`);
          i += 3;
          continue;
        case 0x64:
          need(3);
          commands.push(`feed:${b2}`);
          for (let k = 0; k < b2; k++) {
            lines.push(cur);
            cur = "";
          }
          i += 3;
          continue;
        case 0x4a:
          need(3);
          commands.push(`feed-dots:${b2}`);
          i += 3;
          continue;
        case 0x21:
          need(3);
          commands.push(`print-mode:${b2}`);
          i += 3;
          continue;
        case 0x32:
          commands.push("line-spacing-default");
          i += 2;
          continue;
        case 0x33:
          need(3);
          commands.push(`line-spacing:${b2}`);
          i += 3;
          continue;
        case 0x70:
          need(5);
          commands.push("pulse");
          i += 5;
          continue;
      }
      throw new Error(`unknown ESC command 0x${b1?.toString(16)} at byte ${i}`);
    }
    if (c === 0x1d) {
      need(2);
      switch (b1) {
        case 0x21:
          need(3);
          commands.push(`size:${b2.toString(16).padStart(2, "0")}`);
          i += 3;
          continue;
        case 0x42:
          need(3);
          commands.push(`invert:${b2}`);
          i += 3;
          continue;
        case 0x56: {
          need(3);
          commands.push("cut");
          i += b2 === 0x41 || b2 === 0x42 || b2 === 65 || b2 === 66 ? 4 : 3;
          continue;
        }
        case 0x28: {
          need(5);
          const len = b[i + 3] + b[i + 4] * 256;
          need(5 + len);
          const fn = b[i + 5 + 1];
          if (b2 === 0x6b && fn === 0x50) {
            codes.push({
              kind: "qr",
              value: new TextDecoder().decode(b.slice(i + 8, i + 5 + len)),
            });
            commands.push("qr");
          } else if (b2 === 0x6b) commands.push(`qr-setup:${fn.toString(16)}`);
          else commands.push(`gs-paren:${b2.toString(16)}`);
          i += 5 + len;
          continue;
        }
        case 0x68:
        case 0x77:
        case 0x48:
        case 0x66:
          need(3);
          commands.push(`barcode-setup:${b1.toString(16)}`);
          i += 3;
          continue;
        case 0x6b: {
          need(4);
          if (b2 >= 65) {
            const n = b[i + 3];
            need(4 + n);
            let data = new TextDecoder().decode(b.slice(i + 4, i + 4 + n));
            if (b2 === 73) data = data.replace(/^\{B/, "");
            codes.push({ kind: "barcode", value: data });
            commands.push("barcode");
            i += 4 + n;
          } else {
            const end = b.indexOf(0, i + 3);
            codes.push({ kind: "barcode", value: new TextDecoder().decode(b.slice(i + 3, end)) });
            commands.push("barcode");
            i = end + 1;
          }
          continue;
        }
        case 0x76: {
          need(8);
          const w = b[i + 4] + b[i + 5] * 256, h = b[i + 6] + b[i + 7] * 256;
          commands.push("image");
          i += 8 + w * h;
          continue;
        }
      }
      throw new Error(`unknown GS command 0x${b1?.toString(16)} at byte ${i}`);
    }
    if (c === 0x1c && b1 === 0x2e) {
      commands.push("cancel-kanji");
      i += 2;
      continue;
    }
    if (c === 0x0d) {
      i++;
      continue;
    }
    throw new Error(
      `unexpected control byte 0x${c.toString(16)} at byte ${i} (near ${
        JSON.stringify(cur.slice(-20))
      })`,
    );
  }
  if (cur) lines.push(cur);
  return { lines, commands, codes };
}
