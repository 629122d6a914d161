fn main() {
    let script = std::env::args().nth(1).unwrap();
    let script = script.replace("\\f", "\u{c}");
    let options = brush_parser::ParserOptions::default();
    let start = std::time::Instant::now();
    let r = brush_parser::Parser::new(std::io::Cursor::new(script.as_bytes()), &options)
        .parse_program();
    println!(
        "{script:?} program parse {:?} ok={}",
        start.elapsed(),
        r.is_ok()
    );
}
