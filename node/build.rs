//! Points the embedded-page derive at the built page (`frontend/dist`), or at an empty folder when the page has not
//! been built, so the node always compiles and can tell the user how to build the page.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let dist = manifest.join("../frontend/dist");
    // A path that does not exist makes cargo rerun this script, and so rebuild the node, on every build: until the
    // page is built, watch the folder it appears in instead.
    let watched = if dist.exists() {
        dist.clone()
    } else {
        manifest.join("../frontend")
    };
    println!("cargo:rerun-if-changed={}", watched.display());
    println!("cargo:rerun-if-env-changed=HEARSAY_PAGE_DIR");
    let page_dir = if let Some(dir) = std::env::var_os("HEARSAY_PAGE_DIR") {
        PathBuf::from(dir)
    } else if dist.join("index.html").is_file() {
        dist
    } else {
        let empty =
            PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("no-page");
        std::fs::create_dir_all(&empty).expect("OUT_DIR is writable");
        empty
    };
    let page_dir = page_dir.canonicalize().expect("page folder exists");
    println!("cargo:rustc-env=HEARSAY_PAGE_DIR={}", page_dir.display());
}
