//! `--format parquet`: a list report's typed rows ([`touchline_report_output::Rows`]) as an
//! Apache Parquet file, for BI tools and DuckDB.
//!
//! One Arrow field per report column, named as the CSV header: Utf8 text,
//! Int64 amounts in minor units (a currency column beside them), UInt64
//! counts, Float64 shares and rates, Boolean flags, Timestamp(Millisecond,
//! UTC) instants; a column is nullable only where the report can lack a value.
//! Pages are zstd-compressed. The Arrow schema is stored in the file too, so
//! an Arrow reader gets the same types back.
//!
//! (The external crate is spelled `::parquet` here: this module has its name.)

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ::parquet::arrow::ArrowWriter;
use ::parquet::basic::{Compression, ZstdLevel};
use ::parquet::file::properties::WriterProperties;
use anyhow::Context;
use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, TimestampMillisecondBuilder,
    UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

use touchline_report_output::{Cell, Column, Type};

/// Rows per record batch: bounds the memory of one column's builder; the
/// writer still gathers batches into row groups of up to a million rows.
const BATCH_ROWS: usize = 64 * 1024;

/// Where a Parquet report goes, opened before the report runs so that a path
/// that cannot be written fails at once, not after the work.
pub(crate) enum Target {
    /// A temporary file beside the destination, renamed over it once the file
    /// is complete: a failed export never leaves a truncated file under the
    /// name, where a reader would take it for a whole report.
    File {
        temp: tempfile::NamedTempFile,
        path: PathBuf,
    },
    /// `--output -`, when standard output is a pipe or a file.
    Stdout,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::File { path, .. } => f.debug_tuple("File").field(path).finish(),
            Target::Stdout => f.write_str("Stdout"),
        }
    }
}

impl Target {
    /// Checks `--output` and opens what it names. `-` is standard output, but
    /// never a terminal: Parquet is binary, and a terminal would show noise
    /// and could take the bytes for control sequences.
    pub fn open(path: &Path) -> anyhow::Result<Target> {
        if path.as_os_str() == "-" {
            anyhow::ensure!(
                !std::io::IsTerminal::is_terminal(&std::io::stdout()),
                "--output -: standard output is a terminal, and Parquet is binary; \
                 name a file (--output report.parquet) or redirect standard output"
            );
            return Ok(Target::Stdout);
        }
        // The file is renamed over the name, which would replace a device, a
        // pipe or a link itself (as root, `--output /dev/null` would become a
        // file): only a new name or a plain file is written.
        if let Ok(existing) = std::fs::symlink_metadata(path) {
            anyhow::ensure!(
                !existing.is_dir(),
                "--output {}: is a directory; name the file to write",
                path.display()
            );
            anyhow::ensure!(
                existing.is_file(),
                "--output {}: exists and is not a plain file (a link, device or pipe), \
                 which the export would replace; name a new or plain file, or use \
                 --output - and redirect standard output",
                path.display()
            );
        }
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .map_or_else(|| "report".into(), |n| n.to_string_lossy().into_owned());
        anyhow::ensure!(
            dir.is_dir(),
            "--output {}: there is no directory {}",
            path.display(),
            dir.display()
        );
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        // A report is for others to read: the usual mode for a new file
        // (0666 less the umask), not a temporary file's 0600.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let temp = builder.tempfile_in(dir).map_err(|e| {
            // The system's reason without the temporary file's name (tempfile
            // appends ` at path "..."`), which would only confuse.
            let text = e.to_string();
            let reason = text
                .rsplit_once(" at path ")
                .map_or(text.as_str(), |(r, _)| r);
            anyhow::anyhow!(
                "--output {}: cannot write in {}: {reason}",
                path.display(),
                dir.display()
            )
        })?;
        Ok(Target::File {
            temp,
            path: path.to_owned(),
        })
    }
}

/// A Parquet file being written, batch by batch.
pub(crate) struct Writer {
    columns: &'static [Column],
    schema: SchemaRef,
    writer: ArrowWriter<Box<dyn Write + Send>>,
    /// The temporary file and its final name; `None` for standard output.
    file: Option<(tempfile::NamedTempFile, PathBuf)>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// The Arrow schema of a report's columns.
pub(crate) fn schema(columns: &[Column]) -> Schema {
    Schema::new(
        columns
            .iter()
            .map(|c| Field::new(c.name, data_type(c.ty), c.nullable))
            .collect::<Vec<_>>(),
    )
}

fn data_type(ty: Type) -> DataType {
    match ty {
        Type::Text => DataType::Utf8,
        Type::Int => DataType::Int64,
        Type::UInt => DataType::UInt64,
        Type::Float => DataType::Float64,
        Type::Bool => DataType::Boolean,
        Type::Time => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
    }
}

impl Writer {
    pub fn new(target: Target, columns: &'static [Column]) -> anyhow::Result<Writer> {
        let schema = Arc::new(schema(columns));
        let (out, file): (Box<dyn Write + Send>, _) = match target {
            Target::File { temp, path } => {
                let handle = temp
                    .as_file()
                    .try_clone()
                    .with_context(|| format!("--output {}", path.display()))?;
                (Box::new(handle), Some((temp, path)))
            }
            Target::Stdout => (Box::new(std::io::stdout()), None),
        };
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_created_by(format!("touchline {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = ArrowWriter::try_new(out, schema.clone(), Some(properties))
            .context("cannot start the Parquet file")?;
        Ok(Writer {
            columns,
            schema,
            writer,
            file,
        })
    }

    /// Appends rows (one cell per column, in the columns' order).
    pub fn write(&mut self, rows: &[Vec<Cell>]) -> anyhow::Result<()> {
        for chunk in rows.chunks(BATCH_ROWS) {
            let arrays = self
                .columns
                .iter()
                .enumerate()
                .map(|(i, column)| array(column, chunk.iter().map(|row| &row[i])))
                .collect::<anyhow::Result<Vec<ArrayRef>>>()?;
            let batch = RecordBatch::try_new(self.schema.clone(), arrays)
                .context("cannot assemble a Parquet record batch")?;
            self.writer
                .write(&batch)
                .map_err(|e| self.write_error(plain(e)))?;
        }
        Ok(())
    }

    /// Writes the footer and, for a file, puts it in place.
    pub fn finish(self) -> anyhow::Result<()> {
        let context = match &self.file {
            Some((_, path)) => format!("--output {}: cannot write", path.display()),
            None => "--output -: cannot write to standard output".to_owned(),
        };
        let to_stdout = self.file.is_none();
        let written = self
            .writer
            .into_inner()
            .map_err(plain)
            .and_then(|mut out| Ok(out.flush()?));
        if let Err(error) = written {
            if to_stdout {
                quiet_on_closed_pipe(&error);
            }
            return Err(error.context(context));
        }
        if let Some((temp, path)) = self.file {
            // On disk before the name points at it: a crash leaves the old
            // file or the whole new one.
            temp.as_file().sync_all().context(context.clone())?;
            temp.persist(&path).map_err(|e| e.error).context(context)?;
        }
        Ok(())
    }

    fn write_error(&self, error: anyhow::Error) -> anyhow::Error {
        if self.file.is_none() {
            quiet_on_closed_pipe(&error);
        }
        match &self.file {
            Some((_, path)) => error.context(format!("--output {}: cannot write", path.display())),
            None => error.context("--output -: cannot write to standard output"),
        }
    }
}

/// An I/O error the Parquet writer passes on, as itself: its text once
/// (`External: ` would repeat it), and recognisable as a closed pipe.
fn plain(error: ::parquet::errors::ParquetError) -> anyhow::Error {
    match error {
        ::parquet::errors::ParquetError::External(inner) => {
            match inner.downcast::<std::io::Error>() {
                Ok(io) => anyhow::Error::from(*io),
                Err(other) => anyhow::anyhow!("{other}"),
            }
        }
        other => other.into(),
    }
}

/// A reader that has gone (`| head -c 100`) ends the export quietly and
/// successfully, as it ends every other report (see `main.rs`).
fn quiet_on_closed_pipe(error: &anyhow::Error) {
    let closed = error.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            // The writer's final flush reports its error as text only.
            || e.to_string().contains("Broken pipe")
    });
    if closed {
        std::process::exit(0);
    }
}

/// One column of a batch. A cell of the wrong kind for its column, or a null
/// in a column declared never null, is a report declared wrong: refused with
/// the column's name rather than written as something else.
fn array<'c>(column: &Column, cells: impl Iterator<Item = &'c Cell>) -> anyhow::Result<ArrayRef> {
    let wrong = |cell: &Cell| {
        anyhow::anyhow!(
            "column {}: {cell:?} in a {:?} column (the report's columns are declared wrong)",
            column.name,
            column.ty
        )
    };
    let null = |cell: &Cell| -> anyhow::Result<()> {
        anyhow::ensure!(
            column.nullable,
            "column {}: no value in a column declared never empty ({cell:?})",
            column.name
        );
        Ok(())
    };
    let range = |v: i128| {
        anyhow::anyhow!(
            "column {}: {v} does not fit a Parquet {:?} column",
            column.name,
            data_type(column.ty)
        )
    };
    macro_rules! build {
        ($builder:expr, |$cell:ident| $value:expr) => {{
            let mut builder = $builder;
            for $cell in cells {
                match $cell {
                    Cell::Null(_) => {
                        null($cell)?;
                        builder.append_null();
                    }
                    _ => builder.append_value($value),
                }
            }
            Arc::new(builder.finish()) as ArrayRef
        }};
    }
    Ok(match column.ty {
        Type::Text => build!(StringBuilder::new(), |cell| match cell {
            Cell::Text(text) => text.as_str(),
            other => return Err(wrong(other)),
        }),
        Type::Int => build!(Int64Builder::new(), |cell| match cell {
            Cell::Int(v) => i64::try_from(*v).map_err(|_| range(*v))?,
            other => return Err(wrong(other)),
        }),
        Type::UInt => build!(UInt64Builder::new(), |cell| match cell {
            Cell::Int(v) => u64::try_from(*v).map_err(|_| range(*v))?,
            other => return Err(wrong(other)),
        }),
        Type::Float => build!(Float64Builder::new(), |cell| match cell {
            Cell::Float(v) => *v,
            other => return Err(wrong(other)),
        }),
        Type::Bool => build!(BooleanBuilder::new(), |cell| match cell {
            Cell::Bool(v) => *v,
            other => return Err(wrong(other)),
        }),
        Type::Time => build!(
            TimestampMillisecondBuilder::new().with_timezone("UTC"),
            |cell| {
                match cell {
                    Cell::Time(t) => t.as_millis(),
                    other => return Err(wrong(other)),
                }
            }
        ),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use arrow_array::{Array, Float64Array, Int64Array, StringArray, TimestampMillisecondArray};
    use touchline_core::Timestamp;

    use super::*;

    const COLUMNS: &[Column] = &[
        Column::text("campaign_id"),
        Column::float("conversions"),
        Column::int("value_minor"),
        Column::text("currency").nullable(),
        Column::time("at"),
    ];

    #[test]
    fn a_file_reads_back_with_the_columns_types_and_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credits.parquet");
        let mut writer = Writer::new(Target::open(&path).unwrap(), COLUMNS).unwrap();
        writer
            .write(&[
                vec![
                    "c1".into(),
                    Cell::Float(1.5),
                    Cell::Int(250),
                    "EUR".into(),
                    Cell::Time(Timestamp::from_millis(1_000)),
                ],
                vec![
                    "c2".into(),
                    Cell::Float(0.25),
                    Cell::Int(-3),
                    Cell::Null(""),
                    Cell::Time(Timestamp::from_millis(2_000)),
                ],
            ])
            .unwrap();
        // Nothing under the name until the file is whole.
        assert!(!path.exists());
        writer.finish().unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap())
            .unwrap()
            .build()
            .unwrap();
        let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap();
        let batch = &batches[0];
        assert_eq!(batch.schema().as_ref(), &schema(COLUMNS));
        assert_eq!(batch.num_rows(), 2);
        let text = |i: usize| {
            batch
                .column(i)
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
        };
        assert_eq!(text(0).value(1), "c2");
        let floats = batch
            .column(1)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert_eq!(floats.value(0), 1.5);
        let ints = batch
            .column(2)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(ints.value(1), -3);
        assert!(text(3).is_null(1));
        let times = batch
            .column(4)
            .as_any()
            .downcast_ref::<TimestampMillisecondArray>()
            .unwrap();
        assert_eq!(times.value(1), 2_000);
        // Only the file is left: the temporary one was renamed.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_report_declared_wrong_is_refused_by_column_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.parquet");
        let mut writer = Writer::new(Target::open(&path).unwrap(), COLUMNS).unwrap();
        let error = writer
            .write(&[vec![
                Cell::Null(""),
                Cell::Float(1.0),
                Cell::Int(1),
                Cell::Null(""),
                Cell::Time(Timestamp::from_millis(0)),
            ]])
            .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("column campaign_id: no value"),
            "{error}"
        );
        let error = writer
            .write(&[vec![
                "c".into(),
                Cell::Float(1.0),
                Cell::Int(i128::from(i64::MAX) + 1),
                Cell::Null(""),
                Cell::Time(Timestamp::from_millis(0)),
            ]])
            .unwrap_err();
        assert!(
            error.to_string().contains("does not fit a Parquet Int64"),
            "{error}"
        );
        drop(writer);
        // A failed export leaves nothing behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
