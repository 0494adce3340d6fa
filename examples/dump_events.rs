fn main() {
    let src = std::fs::read_to_string(std::env::args().nth(1).unwrap()).unwrap();
    for e in patcher::doc::events::parse(&src).unwrap() {
        println!(
            "{:>4}..{:<4} {:?} {:?}",
            e.start,
            e.end,
            &src[e.start..e.end.min(src.len())],
            e.kind
        );
    }
}
