//! Parquet export (`--format parquet --output FILE`) from a demo store, no
//! Kafka: every list report's file reads back, with the parquet crate's own
//! reader, as the report's CSV columns, typed, with the same rows and values;
//! `report credits` holds every credit set and sums to `report attribution`;
//! a missing or unwritable `--output` is refused with a clear message.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMillisecondType, UInt64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn touchline(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_touchline"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env("TOUCHLINE_STORE_PATH", db)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A store the demo filled: 200 accounts, every model.
fn demo_store() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    let demo = touchline(
        &db,
        &[
            "demo",
            "--accounts",
            "200",
            "--no-serve",
            "--db",
            db.to_str().unwrap(),
        ],
    );
    assert!(demo.status.success(), "{}", stderr(&demo));
    (dir, db)
}

/// The report's CSV: header and rows, read with a CSV reader (a quoted cell
/// may hold a comma or a line break).
fn csv(db: &Path, args: &[&str]) -> (Vec<String>, Vec<Vec<String>>) {
    let output = touchline(db, &[args, &["--format", "csv"]].concat());
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(output.stdout.as_slice());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

/// Writes the report as Parquet and reads it back: the file's schema and
/// its batches.
fn parquet(db: &Path, args: &[&str], file: &Path) -> (Schema, Vec<RecordBatch>) {
    let output = touchline(
        db,
        &[
            args,
            &["--format", "parquet", "--output", file.to_str().unwrap()],
        ]
        .concat(),
    );
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    assert!(output.stdout.is_empty(), "{args:?}: nothing on stdout");
    read(file)
}

fn read(file: &Path) -> (Schema, Vec<RecordBatch>) {
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(file).unwrap()).unwrap();
    let schema = builder.schema().as_ref().clone();
    let batches = builder
        .build()
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (schema, batches)
}

/// The words CSV writes where Parquet has a null.
const MISSING: &[&str] = &["", "-", "?", "undefined", "unknown"];

/// Whether a Parquet value says what its CSV cell says.
fn same_value(field: &Field, array: &ArrayRef, row: usize, text: &str) -> Result<(), String> {
    let differ = |value: String| Err(format!("parquet {value}, csv {text:?}"));
    if array.is_null(row) {
        return if field.is_nullable() && MISSING.contains(&text) {
            Ok(())
        } else {
            differ("null".into())
        };
    }
    match field.data_type() {
        DataType::Utf8 => {
            let value = array.as_string::<i32>().value(row);
            // CSV puts a ' before text that would start a formula.
            let guarded = text.strip_prefix('\'').filter(|rest| {
                rest.starts_with(['=', '+', '-', '@', '\t', '\r']) && *rest == value
            });
            if text == value || guarded.is_some() {
                Ok(())
            } else {
                differ(format!("{value:?}"))
            }
        }
        DataType::Int64 => {
            let value = array.as_primitive::<Int64Type>().value(row);
            if text == value.to_string() {
                Ok(())
            } else {
                differ(value.to_string())
            }
        }
        DataType::UInt64 => {
            let value = array.as_primitive::<UInt64Type>().value(row);
            if text == value.to_string() {
                Ok(())
            } else {
                differ(value.to_string())
            }
        }
        DataType::Float64 => {
            // CSV writes a float at full precision: it reads back as the
            // very value Parquet keeps.
            let value = array.as_primitive::<Float64Type>().value(row);
            let shown: f64 = text.parse().map_err(|_| format!("csv {text:?}"))?;
            if value == shown {
                Ok(())
            } else {
                differ(value.to_string())
            }
        }
        DataType::Boolean => {
            let value = array.as_boolean().value(row);
            if text == value.to_string() {
                Ok(())
            } else {
                differ(value.to_string())
            }
        }
        DataType::Timestamp(TimeUnit::Millisecond, Some(zone)) if zone.as_ref() == "UTC" => {
            let value = array.as_primitive::<TimestampMillisecondType>().value(row);
            let shown = touchline_core::Timestamp::parse_rfc3339(text).map(|t| t.as_millis());
            if shown == Some(value) {
                Ok(())
            } else {
                differ(value.to_string())
            }
        }
        other => Err(format!(
            "a column of type {other}, which the export never writes"
        )),
    }
}

/// The report as Parquet is the report as CSV: the same column names in the
/// same order, the same number of rows, and each value the same. Returns
/// the number of rows.
fn parquet_is_csv(db: &Path, args: &[&str], file: &Path) -> usize {
    let (header, rows) = csv(db, args);
    let (schema, batches) = parquet(db, args, file);
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, header, "{args:?}: columns");
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(total, rows.len(), "{args:?}: rows");
    let mut csv_rows = rows.iter();
    for batch in &batches {
        assert_eq!(batch.schema().as_ref(), &schema);
        for row in 0..batch.num_rows() {
            let csv_row = csv_rows.next().unwrap();
            for (i, field) in schema.fields().iter().enumerate() {
                if let Err(e) = same_value(field, batch.column(i), row, &csv_row[i]) {
                    panic!("{args:?}: row {row}, column {}: {e}", field.name());
                }
            }
        }
    }
    total
}

#[test]
fn every_list_report_as_parquet_is_its_csv_typed() {
    let (dir, db) = demo_store();
    let file = dir.path().join("report.parquet");
    // A conversion that stands, for `compare --conversion-id`.
    let (_, credits) = csv(
        &db,
        &["report", "credits", "--conversion", "opportunity_won"],
    );
    let won = credits[0][0].clone();
    // Every report that prints rows; a fixed --at where the report depends
    // on the time, so the CSV and the Parquet run see the same rows.
    let reports: &[&[&str]] = &[
        &["report", "follow-ups", "--at", "2026-06-01"],
        &["report", "leads"],
        &["report", "scores", "--at", "2026-06-01"],
        &["report", "rfm", "--at", "2026-06-01"],
        &["report", "overdue", "--at", "2026-06-01"],
        &["report", "forecast"],
        &["report", "forecast", "--by", "deals"],
        &["report", "interest", "--account", "acc-0000000"],
        &["report", "signals", "--at", "2026-06-01"],
        &["report", "campaigns"],
        &["report", "upsell"],
        &["report", "literature"],
        &["report", "duplicates"],
        &["report", "funnel"],
        &["report", "speed-to-lead"],
        &["report", "attribution"],
        &[
            "report",
            "attribution",
            "--model",
            "linear",
            "--conversion",
            "opportunity_won",
        ],
        &["report", "attribution", "--by", "channel"],
        &["report", "credits"],
        &["attribution", "data-driven"],
        &[
            "attribution",
            "data-driven",
            "--model",
            "shapley",
            "--by",
            "campaign",
        ],
        &[
            "attribution",
            "as-of",
            "--at",
            "2026-03-01",
            "--model",
            "linear",
            "--conversion",
            "opportunity_won",
        ],
        &[
            "attribution",
            "as-of",
            "--at",
            "2026-03-01",
            "--by",
            "channel",
            "--conversion",
            "opportunity_won",
        ],
        &["attribution", "compare", "--conversion", "lead_created"],
        &["attribution", "compare", "--conversion-id", &won],
        &["attribution", "what-if", "--model", "linear,time_decay"],
        &["attribution", "what-if", "--by", "channel", "--moved"],
    ];
    let mut with_rows = 0;
    for args in reports {
        if parquet_is_csv(&db, args, &file) > 0 {
            with_rows += 1;
        }
    }
    // The demo's data gives nearly every report rows; an empty one still
    // has its schema (checked above).
    assert!(
        with_rows >= reports.len() - 2,
        "{with_rows} reports had rows"
    );

    // Columns are typed: a count is UInt64, an amount Int64 beside its
    // currency, a share Float64, an instant Timestamp(ms, UTC).
    let (schema, _) = parquet(&db, &["report", "campaigns"], &file);
    let ty = |name: &str| schema.field_with_name(name).unwrap().data_type().clone();
    assert_eq!(ty("members"), DataType::UInt64);
    assert_eq!(ty("revenue_minor"), DataType::Int64);
    assert_eq!(ty("currency"), DataType::Utf8);
    assert_eq!(ty("leads"), DataType::Float64);
    // A ratio CSV writes as `undefined` is a nullable float.
    assert!(schema.field_with_name("roi").unwrap().is_nullable());
    assert!(!schema.field_with_name("campaign_id").unwrap().is_nullable());
    let (schema, _) = parquet(&db, &["report", "leads"], &file);
    assert_eq!(
        schema
            .field_with_name("qualification.need")
            .unwrap()
            .data_type(),
        &DataType::Boolean
    );
}

#[test]
fn the_credit_sets_as_parquet_are_what_report_attribution_sums() {
    let (dir, db) = demo_store();
    let file = dir.path().join("credits.parquet");
    let (schema, batches) = parquet(&db, &["report", "credits"], &file);
    let utc = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    let expected = Schema::new(vec![
        Field::new("conversion_id", DataType::Utf8, false),
        Field::new("conversion", DataType::Utf8, false),
        Field::new("subject_id", DataType::Utf8, false),
        Field::new("converted_at", utc.clone(), false),
        Field::new("model", DataType::Utf8, false),
        Field::new("version", DataType::UInt64, false),
        Field::new("as_of_seq", DataType::UInt64, false),
        Field::new("campaign_id", DataType::Utf8, false),
        Field::new("campaign_name", DataType::Utf8, false),
        Field::new("channel", DataType::Utf8, false),
        Field::new("touch_event_id", DataType::Utf8, true),
        Field::new("touch_occurred_at", utc, true),
        Field::new("weight", DataType::Float64, false),
        Field::new("amount_minor", DataType::Int64, true),
        Field::new("value_minor", DataType::Int64, true),
        Field::new("currency", DataType::Utf8, true),
        Field::new("unattributed", DataType::Utf8, true),
    ]);
    assert_eq!(schema.fields(), expected.fields());

    // Per conversion and model, the weights sum to 1 and the amounts to the
    // conversion's value, exactly.
    type Key = (String, String);
    let mut sets: BTreeMap<Key, (f64, i64, Option<i64>)> = BTreeMap::new();
    // Per campaign under linear for won deals: what `report attribution` shows.
    let mut linear_won: BTreeMap<String, (f64, i64)> = BTreeMap::new();
    for batch in &batches {
        let column = |name: &str| batch.column(schema.index_of(name).unwrap()).clone();
        let (id, kind, model, campaign) = (
            column("conversion_id"),
            column("conversion"),
            column("model"),
            column("campaign_id"),
        );
        let (weight, amount, value) = (
            column("weight"),
            column("amount_minor"),
            column("value_minor"),
        );
        for row in 0..batch.num_rows() {
            let text = |a: &ArrayRef| a.as_string::<i32>().value(row).to_owned();
            let int =
                |a: &ArrayRef| (!a.is_null(row)).then(|| a.as_primitive::<Int64Type>().value(row));
            let w = weight.as_primitive::<Float64Type>().value(row);
            let set = sets.entry((text(&id), text(&model))).or_default();
            set.0 += w;
            set.1 += int(&amount).unwrap_or(0);
            set.2 = int(&value);
            if text(&kind) == "opportunity_won" && text(&model) == "linear" {
                let line = linear_won.entry(text(&campaign)).or_default();
                line.0 += w;
                line.1 += int(&amount).unwrap();
            }
        }
    }
    assert!(sets.len() > 1_000, "{} credit sets", sets.len());
    let models: std::collections::BTreeSet<&str> = sets.keys().map(|(_, m)| m.as_str()).collect();
    assert_eq!(models.len(), 10, "every model: {models:?}");
    for ((id, model), (weights, amounts, value)) in &sets {
        assert!(
            (weights - 1.0).abs() < 1e-9,
            "{model}/{id}: weights {weights}"
        );
        assert_eq!(*amounts, value.unwrap_or(0), "{model}/{id}: amounts");
    }
    let (header, rows) = csv(
        &db,
        &[
            "report",
            "attribution",
            "--model",
            "linear",
            "--conversion",
            "opportunity_won",
        ],
    );
    assert_eq!(header[0], "campaign_id");
    assert_eq!(rows.len(), linear_won.len());
    for row in &rows {
        let (conversions, value) = linear_won[&row[0]];
        let shown: f64 = row[3].parse().unwrap();
        assert!(
            (conversions - shown).abs() < 1e-6,
            "{}: {conversions} vs {shown}",
            row[0]
        );
        assert_eq!(value.to_string(), row[4], "{}", row[0]);
    }

    // The filters narrow the rows; the CSV is the same rows.
    let (_, filtered) = parquet(
        &db,
        &[
            "report",
            "credits",
            "--model",
            "first_touch",
            "--conversion",
            "lead_created",
        ],
        &file,
    );
    let leads = sets
        .keys()
        .filter(|(id, m)| m == "first_touch" && id.starts_with("lead_created:"))
        .count();
    assert_eq!(
        filtered.iter().map(RecordBatch::num_rows).sum::<usize>(),
        leads
    );

    // `--output -` writes the same file to a pipe.
    let piped = touchline(
        &db,
        &["report", "credits", "--format", "parquet", "--output", "-"],
    );
    assert!(piped.status.success(), "{}", stderr(&piped));
    assert!(piped.stdout.starts_with(b"PAR1") && piped.stdout.ends_with(b"PAR1"));
    let copy = dir.path().join("piped.parquet");
    std::fs::write(&copy, &piped.stdout).unwrap();
    assert_eq!(read(&copy).1, batches);
}

#[test]
fn a_missing_or_unwritable_output_is_refused_clearly() {
    let (dir, db) = demo_store();
    let refused = |args: &[&str], message: &str| {
        let output = touchline(&db, args);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(message),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
        assert!(output.stdout.is_empty(), "{args:?}: nothing printed");
    };
    refused(
        &["report", "leads", "--format", "parquet"],
        "error: --format parquet writes a file: name it with --output FILE",
    );
    refused(
        &["attribution", "compare", "--format", "parquet"],
        "--output FILE",
    );
    refused(
        &[
            "report",
            "leads",
            "--format",
            "csv",
            "--output",
            "x.parquet",
        ],
        "error: --output is for --format parquet; --format csv prints to standard output",
    );
    let missing = dir.path().join("no-such-dir").join("x.parquet");
    refused(
        &[
            "report",
            "credits",
            "--format",
            "parquet",
            "--output",
            missing.to_str().unwrap(),
        ],
        &format!("--output {}: there is no directory", missing.display()),
    );
    refused(
        &[
            "report",
            "credits",
            "--format",
            "parquet",
            "--output",
            dir.path().to_str().unwrap(),
        ],
        "is a directory; name the file to write",
    );
    // A link (or a device) is never replaced by the file.
    let target = dir.path().join("target.txt");
    std::fs::write(&target, "keep").unwrap();
    let link = dir.path().join("link.parquet");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    refused(
        &[
            "report",
            "leads",
            "--format",
            "parquet",
            "--output",
            link.to_str().unwrap(),
        ],
        "exists and is not a plain file",
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");

    // A report that fails after the file was opened leaves nothing behind,
    // not even its temporary file; a good one replaces an old file whole.
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let file = out.join("forecast.parquet");
    refused(
        &[
            "report",
            "forecast",
            "--by",
            "weeks",
            "--format",
            "parquet",
            "--output",
            file.to_str().unwrap(),
        ],
        "--by: \"weeks\" is not months or deals",
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
    std::fs::write(&file, "not parquet").unwrap();
    let written = touchline(
        &db,
        &[
            "report",
            "forecast",
            "--format",
            "parquet",
            "--output",
            file.to_str().unwrap(),
        ],
    );
    assert!(written.status.success(), "{}", stderr(&written));
    assert!(
        read(&file)
            .1
            .iter()
            .map(RecordBatch::num_rows)
            .sum::<usize>()
            > 0
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
}
