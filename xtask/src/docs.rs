//! `docs/benchmarks.md`: each benchmark owns one `## ` section and rewrites only that one (`--write-docs`).

use anyhow::{Context, Result};
use std::path::Path;

/// Replaces (or appends) the section of `path` that starts with the line `heading`, keeping every other section.
pub fn write_section(path: &Path, heading: &str, new_section: &str) -> Result<()> {
    let old = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "# Benchmarks\n".to_string(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    std::fs::write(path, replace_section(&old, heading, new_section))
        .with_context(|| format!("cannot write {}", path.display()))
}

fn replace_section(old: &str, heading: &str, new_section: &str) -> String {
    let lines: Vec<&str> = old.split_inclusive('\n').collect();
    match lines.iter().position(|l| l.trim_end() == heading) {
        Some(i) => {
            let end =
                lines[i + 1..].iter().position(|l| l.starts_with("## ")).map(|k| i + 1 + k).unwrap_or(lines.len());
            let mut out: String = lines[..i].concat();
            out.push_str(new_section);
            if end < lines.len() {
                out.push('\n');
                out.push_str(&lines[end..].concat());
            }
            out
        }
        None => format!("{}\n\n{new_section}", old.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::replace_section;

    #[test]
    fn only_the_named_section_is_replaced() {
        let doc = "# B\n\n## API\n\napi text\n\n## Web UI\n\nold\n\n## Analytics\n\nan\n";
        let out = replace_section(doc, "## Web UI", "## Web UI\n\nnew\n");
        assert_eq!(out, "# B\n\n## API\n\napi text\n\n## Web UI\n\nnew\n\n## Analytics\n\nan\n");
        let added = replace_section("# B\n\n## API\n\nx\n", "## Web UI", "## Web UI\n\nnew\n");
        assert_eq!(added, "# B\n\n## API\n\nx\n\n## Web UI\n\nnew\n");
    }
}
