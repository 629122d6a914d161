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

/// Parses the documents of one input. JSON when it starts with `{` or `[`, YAML otherwise.
pub fn parse_documents(source_name: &str, text: &str) -> Result<Vec<Value>, DocumentError> {
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
            docs.push(doc.map_err(|e| err(index, format!("invalid JSON: {e}")))?);
        }
        return Ok(docs);
    }
    let mut reader = std::io::Cursor::new(text.as_bytes());
    let mut docs = Vec::new();
    for (index, doc) in serde_saphyr::read::<_, Value>(&mut reader).enumerate() {
        let doc = doc.map_err(|e| err(index, format!("invalid YAML: {e}")))?;
        if !doc.is_null() {
            docs.push(doc);
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_document_yaml() {
        let docs = parse_documents("x", "kind: Pod\n---\nkind: List\n---\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1]["kind"], "List");
    }

    #[test]
    fn errors_name_source_and_index() {
        let e = parse_documents("bad.yaml", "kind: Pod\n---\nkind: [unclosed\n").unwrap_err();
        assert_eq!(e.source_name, "bad.yaml");
        assert_eq!(e.index, 1);
        let e = parse_documents("bad.json", "{\"kind\": }").unwrap_err();
        assert_eq!(e.index, 0);
        assert!(e
            .to_string()
            .starts_with("bad.json: document 0: invalid JSON"));
    }
}
