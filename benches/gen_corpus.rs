//! Writes a generated migration corpus to a folder:
//! `cargo bench --bench gen_corpus -- OUT_DIR N [--downs | --popx]`
//! (`--popx`: a popx-shaped SQLite history, see `corpus::popx`).

#[path = "support/corpus.rs"]
mod corpus;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let downs = args.iter().any(|a| a == "--downs");
    let popx = args.iter().any(|a| a == "--popx");
    let pos: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let (Some(dir), Some(n)) = (
        pos.first(),
        pos.get(1).and_then(|n| n.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: cargo bench --bench gen_corpus -- OUT_DIR N [--downs | --popx]");
        std::process::exit(2);
    };
    let dir_path = std::path::Path::new(dir.as_str());
    let written = if popx {
        corpus::write_popx(dir_path, n)
    } else {
        corpus::write(dir_path, n, downs)
    };
    match written {
        Ok(files) => println!("wrote {} migrations to {dir}", files.len()),
        Err(e) => {
            eprintln!("error: {dir}: {e}");
            std::process::exit(2);
        }
    }
}
