use jiebang_scenarios::package::Manifest;
fn main() {
    let base = std::fs::read_to_string("scenarios/tests/fixtures/valid-package/scenario.toml").unwrap();
    for (a, b) in [
        ("[bounty]\namount_cny = 100000", "[bounty]\namount_cny = 100000\ncurrency = \"CNY\""),
        ("amount_cny = 100000", "amount_cny = \"lots\""),
        ("opens_at = \"2026-01-01T00:00:00Z\"", "opens_at = 2026-01-01T00:00:00Z"),
        ("opens_at = \"2026-01-01T00:00:00Z\"", "opens_at = \"2026-01-01\""),
        ("load = { pattern = \"single-stream\" }", "load = { pattern = \"server\", rate = 3 }"),
        ("datatype = \"FP32\"", "datatyp = \"FP32\""),
        ("name = \"accuracy\"", "name = \"f1\""),
        ("town = \"konggang\"", "town = \"konggang\"\ntown = \"x\""),
    ] {
        let text = base.replace(a, b);
        let de = toml::Deserializer::parse(&text);
        match de {
            Err(e) => println!("PARSE: {e}"),
            Ok(de) => match serde_path_to_error::deserialize::<_, Manifest>(de) {
                Ok(_) => println!("OK"),
                Err(e) => println!("PATH {} :: {}", e.path(), e.inner()),
            },
        }
        println!("---");
    }
}
