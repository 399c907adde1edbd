//! Markdown from admins (a project's instructions), rendered to HTML that cannot run
//! anything: raw HTML in the Markdown is shown as the text it is, and ammonia keeps only an
//! allow-list of tags and attributes of what pulldown-cmark renders (no scripts, no event
//! handlers, links get rel="noopener").

use pulldown_cmark::{html, Event, Options, Parser};

/// Safe HTML for a piece of Markdown.
pub fn to_safe_html(markdown: &str) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut rendered = String::with_capacity(markdown.len() * 2);
    html::push_html(&mut rendered, parser);
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer"))
        .url_schemes(std::collections::HashSet::from(["http", "https", "mailto"]))
        .clean(&rendered)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::to_safe_html;

    #[test]
    fn markdown_renders_and_nothing_runs() {
        let html = to_safe_html("**Label** the _tone_.\n\n- positive\n- negative");
        assert!(html.contains("<strong>Label</strong>"));
        assert!(html.contains("<li>positive</li>"));
        for hostile in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[x](javascript:alert(1))",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<iframe src=\"https://evil.example\"></iframe>",
        ] {
            let html = to_safe_html(hostile);
            assert!(!html.contains("<script"), "{html}");
            assert!(!html.contains("onerror"), "{html}");
            assert!(!html.contains("javascript:"), "{html}");
            assert!(!html.contains("<iframe"), "{html}");
        }
        let shown = to_safe_html("Mark <img src=x onerror=alert(1)> as text");
        assert!(
            shown.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{shown}"
        );
        assert!(!shown.contains("<img"), "{shown}");
    }
}
