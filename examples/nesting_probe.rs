fn main() {
    let options = brush_parser::ParserOptions::default();
    for n in [6usize, 8, 10, 12, 14] {
        for pattern in ["(", "((", "$(", "$((", "${", "$[", "\"$(", "`"] {
            let word = format!("a{}x", pattern.repeat(n));
            let start = std::time::Instant::now();
            let ok = brush_parser::word::parse(&word, &options).is_ok();
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            if ms > 0.5 {
                println!("word {n:3} {pattern:5} {ms:>10.3} ms ok={ok}");
            }
        }
    }
}
