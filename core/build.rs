// refinery's embed_migrations! reads ../migrations at compile time; make Cargo rebuild when they change.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
