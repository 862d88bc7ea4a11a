//! The shell shared by both HTML reports: escaping, embedding the data as
//! JSON inside a `<script type="application/json">` element, and one page
//! that inlines the CSS and JS assets so the file opens from disk with
//! nothing fetched. Knows nothing about queues or bundles (see
//! `score_page` and `train_page`).

use serde::Serialize;

use crate::error::Result;

/// Styles shared by both pages.
pub const CSS: &str = include_str!("assets/report.css");
/// DOM helpers, number formats and the SVG charts both pages draw with.
pub const COMMON_JS: &str = include_str!("assets/common.js");

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `value` as JSON that can sit inside `<script type="application/json">`.
///
/// The HTML parser ends a script element at the first `</script` whatever
/// JSON thinks, so an account named `</script><script>alert(1)</script>`
/// would otherwise break out and run. `<`, `>` and `&` only ever occur
/// inside JSON strings, where `\u003c` and friends mean the same
/// characters to `JSON.parse`; U+2028/U+2029 are escaped too, so the text
/// stays valid should anyone paste it into a JS string literal.
pub fn json_for_script<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    let json = serde_json::to_string(value)?;
    let mut out = String::with_capacity(json.len() + json.len() / 64);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Rounds `x` to `decimals` places for the page's JSON: the reports show
/// at most that precision, and shorter numbers keep a 50,000-row page
/// small. Non-finite values stay as they are (serde writes them as null).
pub fn round(x: f64, decimals: i32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let f = 10f64.powi(decimals);
    let r = (x * f).round() / f;
    // -0.0 would print as "-0.0".
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

/// A complete self-contained page: `data_json` (from [`json_for_script`])
/// is the single input of `page_js`, which renders into `<main id="app">`.
///
/// The Content-Security-Policy forbids every fetch (`default-src 'none'`):
/// the page must work from a file on a laptop with no network, and this
/// makes the browser refuse, rather than silently try, any stray request.
pub fn page(title: &str, data_json: &str, page_js: &str) -> String {
    let mut s =
        String::with_capacity(CSS.len() + COMMON_JS.len() + page_js.len() + data_json.len() + 1024);
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    s.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n",
    );
    s.push_str("<title>");
    s.push_str(&escape_html(title));
    s.push_str("</title>\n<style>\n");
    s.push_str(CSS);
    s.push_str("</style>\n</head>\n<body>\n");
    s.push_str("<noscript><p class=\"noscript\">This report draws its tables and charts with JavaScript; please allow scripts for this file.</p></noscript>\n");
    s.push_str("<main id=\"app\"></main>\n");
    s.push_str("<script type=\"application/json\" id=\"report-data\">");
    s.push_str(data_json);
    s.push_str("</script>\n<script>\n");
    s.push_str(COMMON_JS);
    s.push_str("</script>\n<script>\n");
    s.push_str(page_js);
    s.push_str("</script>\n</body>\n</html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escaping_covers_markup_and_both_quotes() {
        assert_eq!(
            escape_html(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(escape_html("Müller GmbH"), "Müller GmbH");
    }

    #[test]
    fn script_closing_tag_in_a_value_cannot_end_the_data_element() {
        let evil = "</script><script>alert(1)</script><!-- \u{2028}\u{2029} & <b>";
        let json = json_for_script(&serde_json::json!({ "name": evil })).unwrap();
        for bad in [
            "</script", "<script", "<!--", "<", ">", "&", "\u{2028}", "\u{2029}",
        ] {
            assert!(!json.contains(bad), "{bad:?} survived in {json}");
        }
        // JSON.parse (here serde_json) reads back exactly the original text.
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["name"], evil);
        // And inside a page the data element ends only where we end it.
        let html = page("t", &json, "");
        let start = html.find("id=\"report-data\">").unwrap();
        let end = start + html[start..].find("</script>").unwrap();
        assert_eq!(&html[start + "id=\"report-data\">".len()..end], json);
    }

    /// The SVG namespace is an identifier `createElementNS` needs, never
    /// requested; it is the one URL the pages may contain.
    const SVG_NS: &str = "http://www.w3.org/2000/svg";

    #[test]
    fn assets_cannot_end_their_own_elements_or_fetch() {
        let all = [
            ("report.css", CSS),
            ("common.js", COMMON_JS),
            ("score.js", crate::report::score_page::SCORE_JS),
            ("train.js", crate::report::train_page::TRAIN_JS),
        ];
        for (name, text) in all {
            let lower = text.to_ascii_lowercase();
            assert!(
                !lower.contains("</script") && !lower.contains("</style"),
                "{name}"
            );
            assert!(
                !lower.contains("<script") && !lower.contains("<!--"),
                "{name}"
            );
            assert!(
                !lower.contains("@import") && !lower.contains("innerhtml"),
                "{name}"
            );
            assert!(
                !lower.contains("fetch(") && !lower.contains("xmlhttprequest"),
                "{name}"
            );
            // url() only for in-page references such as clip-path: url(#clip-1).
            assert!(
                lower
                    .split("url(")
                    .skip(1)
                    .all(|rest| rest.starts_with('#') || rest.starts_with("`#")),
                "{name}"
            );
            let without_ns = lower.replace(SVG_NS, "");
            assert!(
                !without_ns.contains("http:")
                    && !without_ns.contains("https:")
                    && !without_ns.contains("//cdn"),
                "{name}"
            );
        }
    }

    #[test]
    fn rounding_keeps_json_short_and_never_negative_zero() {
        assert_eq!(round(0.123456, 4), 0.1235);
        assert_eq!(round(-0.00001, 2).to_string(), "0");
        assert_eq!(round(1234.5678, 0), 1235.0);
        assert!(round(f64::NAN, 2).is_nan());
        assert_eq!(serde_json::to_string(&round(0.1 + 0.2, 4)).unwrap(), "0.3");
    }

    #[test]
    fn the_page_forbids_every_fetch() {
        let html = page("Report <1>", "{}", "render();");
        assert!(html.contains("default-src 'none'"));
        assert!(html.contains("<title>Report &lt;1&gt;</title>"));
        let rest = html.replace(SVG_NS, "");
        assert!(!rest.contains("http://") && !rest.contains("https://"));
    }
}
