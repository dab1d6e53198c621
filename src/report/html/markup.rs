//! The one way the HTML report writes: markup only as `&'static str`
//! (written in this program, never built from data), every other string
//! through [`escape`], numbers as numbers. Text from AWS therefore cannot
//! become markup: there is no method that would let it.

use std::io::{self, Write};

/// An HTML document being written, straight to its file.
pub struct Markup<'a> {
    out: &'a mut dyn Write,
}

impl<'a> Markup<'a> {
    pub fn new(out: &'a mut dyn Write) -> Self {
        Markup { out }
    }

    /// Markup written in this program.
    pub fn raw(&mut self, markup: &'static str) -> io::Result<()> {
        self.out.write_all(markup.as_bytes())
    }

    /// Any other text, escaped for element content and for quoted
    /// attribute values alike (every attribute this page writes is quoted
    /// with `"`).
    pub fn text(&mut self, text: &str) -> io::Result<()> {
        escape(text, &mut *self.out)
    }

    /// A count.
    pub fn count(&mut self, n: usize) -> io::Result<()> {
        write!(self.out, "{n}")
    }

    /// A measure (an SVG length, seconds), to a tenth.
    pub fn decimal(&mut self, x: f64) -> io::Result<()> {
        write!(self.out, "{x:.1}")
    }
}

/// Writes `text` with `&`, `<`, `>`, `"` and `'` replaced by their
/// character references: safe as element content and inside a quoted
/// attribute value. (Text is never written into `<script>` or `<style>`,
/// nor unquoted or into a URL's scheme.)
pub fn escape(text: &str, out: &mut dyn Write) -> io::Result<()> {
    let mut rest = text;
    while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
        out.write_all(&rest.as_bytes()[..at])?;
        out.write_all(match rest.as_bytes()[at] {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'"' => b"&quot;",
            _ => b"&#39;",
        })?;
        rest = &rest[at + 1..];
    }
    out.write_all(rest.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        let mut out = Vec::new();
        escape(text, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_character_that_could_open_markup_or_close_an_attribute_is_escaped() {
        assert_eq!(
            escaped("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(
            escaped(r#"" onmouseover='x' a="#),
            "&quot; onmouseover=&#39;x&#39; a="
        );
        assert_eq!(escaped("a&amp;b"), "a&amp;amp;b");
        assert_eq!(
            escaped("</script><script>alert(1)</script>"),
            "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        // Everything else, multi-byte characters included, is kept.
        assert_eq!(escaped("Zürich-prod ✓ 東京"), "Zürich-prod ✓ 東京");
        assert_eq!(escaped(""), "");
        assert_eq!(escaped("<<>>"), "&lt;&lt;&gt;&gt;");
    }

    #[test]
    fn markup_writes_text_escaped_and_numbers_plain() {
        let mut out = Vec::new();
        let mut page = Markup::new(&mut out);
        page.raw("<p title=\"").unwrap();
        page.text("\"><b>").unwrap();
        page.raw("\">").unwrap();
        page.count(42).unwrap();
        page.decimal(12.345).unwrap();
        page.raw("</p>").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<p title=\"&quot;&gt;&lt;b&gt;\">4212.3</p>"
        );
    }
}
