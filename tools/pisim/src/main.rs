//! pisim: a simulated Raspberry Pi network bootloader for rpinet's lab.
fn main() {}
