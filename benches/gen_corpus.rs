//! Writes a generated migration corpus to a folder:
//! `cargo bench --bench gen_corpus -- OUT_DIR N [--downs]`.

#[path = "support/corpus.rs"]
mod corpus;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let downs = args.iter().any(|a| a == "--downs");
    let pos: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let (Some(dir), Some(n)) = (
        pos.first(),
        pos.get(1).and_then(|n| n.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: cargo bench --bench gen_corpus -- OUT_DIR N [--downs]");
        std::process::exit(2);
    };
    match corpus::write(std::path::Path::new(dir.as_str()), n, downs) {
        Ok(files) => println!("wrote {} migrations to {dir}", files.len()),
        Err(e) => {
            eprintln!("error: {dir}: {e}");
            std::process::exit(2);
        }
    }
}
