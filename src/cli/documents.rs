//! Reading manifests: YAML (multi-document) or JSON, from files or stdin. Every error names the
//! source and the document index.

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
#[error("{source_name}: document {index}: {message}")]
pub struct DocumentError {
    pub source_name: String,
    pub index: usize,
    pub message: String,
}

/// Parses the documents of one input, each with its index in the input (empty YAML documents
/// are counted, not returned). JSON when it starts with `{` or `[`, YAML otherwise.
pub fn parse_documents(
    source_name: &str,
    text: &str,
) -> Result<Vec<(usize, Value)>, DocumentError> {
    let err = |index: usize, message: String| DocumentError {
        source_name: source_name.to_string(),
        index,
        message,
    };
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let mut docs = Vec::new();
        let stream = serde_json::Deserializer::from_str(trimmed).into_iter::<Value>();
        for (index, doc) in stream.enumerate() {
            docs.push((
                index,
                doc.map_err(|e| err(index, format!("invalid JSON: {e}")))?,
            ));
        }
        return Ok(docs);
    }
    let mut docs = Vec::new();
    for (index, chunk) in split_yaml_documents(text).iter().enumerate() {
        let doc: Value =
            serde_saphyr::from_str(chunk).map_err(|e| err(index, format!("invalid YAML: {e}")))?;
        if !doc.is_null() {
            docs.push((index, doc));
        }
    }
    Ok(docs)
}

/// Splits a YAML stream at its document markers (`---` at the start of a line, `...` ends one),
/// so every document has the index a reader counts, empty ones included. A leading marker does
/// not open a second document.
fn split_yaml_documents(text: &str) -> Vec<String> {
    let mut docs: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut started = false;
    for line in text.lines() {
        let is_marker = line == "---" || line.starts_with("--- ") || line.starts_with("---\t");
        if is_marker {
            if started || !current.trim().is_empty() {
                docs.push(std::mem::take(&mut current));
            }
            started = true;
            let inline = line[3..].trim_start();
            if !inline.is_empty() {
                current.push_str(inline);
                current.push('\n');
            }
        } else if line == "..." {
            docs.push(std::mem::take(&mut current));
            started = false;
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    if started || !current.trim().is_empty() {
        docs.push(current);
    }
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_document_yaml() {
        let docs = parse_documents("x", "kind: Pod\n---\nkind: List\n---\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].1["kind"], "List");
        // A leading marker, empty documents and inline content keep positional indices.
        let docs = parse_documents(
            "x",
            "---\nkind: A\n---\n---\n# only a comment\n--- {kind: B}\n...\n",
        )
        .unwrap();
        let kinds: Vec<(usize, &str)> = docs
            .iter()
            .map(|(i, d)| (*i, d["kind"].as_str().unwrap()))
            .collect();
        assert_eq!(kinds, vec![(0, "A"), (3, "B")]);
    }

    #[test]
    fn errors_name_source_and_index() {
        let e = parse_documents("bad.yaml", "kind: Pod\n---\nkind: [unclosed\n").unwrap_err();
        assert_eq!(e.source_name, "bad.yaml");
        assert_eq!(e.index, 1);
        let e = parse_documents("bad.yaml", "kind: Pod\n---\n---\nkind: [unclosed\n").unwrap_err();
        assert_eq!(e.index, 2);
        let e = parse_documents("bad.json", "{\"kind\": }").unwrap_err();
        assert_eq!(e.index, 0);
        assert!(e
            .to_string()
            .starts_with("bad.json: document 0: invalid JSON"));
    }
}
