/**
 * The code a page shows is the code the tests run: every fenced block named after a file
 * (```python tests/django/pos/views.py) equals that file.
 */
import { assert, assertEquals } from "./helpers/assert.ts";

const ROOT = new URL("../", import.meta.url);

Deno.test("docs/django.md shows the Django backend the tests run, file for file", async () => {
  const doc = await Deno.readTextFile(new URL("docs/django.md", ROOT));
  const blocks = [...doc.matchAll(/```\w+ (tests\/\S+)\n([\s\S]*?)```/g)];
  assert(blocks.length >= 4, `${blocks.length} named blocks`);
  for (const [, path, code] of blocks) {
    assertEquals(
      code,
      await Deno.readTextFile(new URL(path, ROOT)),
      `${path} as the page shows it`,
    );
  }
});
