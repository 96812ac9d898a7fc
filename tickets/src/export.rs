//! Export of tickets and their statistics to XLSX (rust_xlsxwriter) and CSV,
//! for the back office's spreadsheets. Times are in the station's zone;
//! contacts are masked unless the caller asks for them (back office only).

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_xlsxwriter::{Format, Workbook};

use crate::error::TicketError;
use crate::model::Ticket;
use crate::report::Report;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Xlsx,
    Csv,
}

impl std::str::FromStr for ExportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "xlsx" => Ok(ExportFormat::Xlsx),
            "csv" => Ok(ExportFormat::Csv),
            other => Err(format!("unknown format {other:?}: use xlsx or csv")),
        }
    }
}

/// Column headers of the ticket sheet, in order.
pub const COLUMNS: [&str; 17] = [
    "工单号",
    "来源",
    "受理时间",
    "问题",
    "话题",
    "分类",
    "承办部门",
    "SLA策略",
    "转办时限",
    "办结时限",
    "状态",
    "转办时间",
    "办结时间",
    "办理结果",
    "回访次数",
    "满意度",
    "联系方式",
];

fn time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

fn opt_time(t: Option<DateTime<Utc>>, tz: Tz) -> String {
    t.map(|t| time(t, tz)).unwrap_or_default()
}

/// One ticket as the row of cells written to the sheet.
pub fn row(t: &Ticket, tz: Tz, with_contact: bool) -> [String; 17] {
    let class = match t.class {
        airbridge_configs::TicketClass::Simple => "简单",
        airbridge_configs::TicketClass::General => "一般",
        airbridge_configs::TicketClass::Complex => "复杂",
    };
    [
        t.id.clone(),
        t.source.label_zh().to_owned(),
        time(t.received_at, tz),
        t.question.clone(),
        t.topic.clone(),
        class.to_owned(),
        t.departments.join("、"),
        t.policy.clone(),
        time(t.dispatch_due, tz),
        time(t.resolve_due, tz),
        t.state.label_zh().to_owned(),
        opt_time(t.dispatched_at, tz),
        opt_time(t.resolved_at, tz),
        t.resolution.clone().unwrap_or_default(),
        t.callbacks.len().to_string(),
        t.satisfaction
            .map(|s| s.label_zh().to_owned())
            .unwrap_or_default(),
        if with_contact {
            t.contact.clone().unwrap_or_default()
        } else {
            t.contact_masked()
        },
    ]
}

fn export_err(path: &Path, e: impl std::fmt::Display) -> TicketError {
    TicketError::Export {
        path: path.display().to_string(),
        detail: e.to_string(),
    }
}

pub fn export(
    tickets: &[Ticket],
    report: &Report,
    tz: Tz,
    path: &Path,
    format: ExportFormat,
    with_contact: bool,
) -> Result<(), TicketError> {
    match format {
        ExportFormat::Csv => export_csv(tickets, tz, path, with_contact),
        ExportFormat::Xlsx => export_xlsx(tickets, report, tz, path, with_contact),
    }
}

fn export_csv(
    tickets: &[Ticket],
    tz: Tz,
    path: &Path,
    with_contact: bool,
) -> Result<(), TicketError> {
    let mut file = std::fs::File::create(path).map_err(|e| export_err(path, e))?;
    // A byte-order mark makes spreadsheet programs read the file as UTF-8.
    file.write_all("\u{feff}".as_bytes())
        .map_err(|e| export_err(path, e))?;
    let mut w = csv::Writer::from_writer(file);
    w.write_record(COLUMNS).map_err(|e| export_err(path, e))?;
    for t in tickets {
        w.write_record(row(t, tz, with_contact))
            .map_err(|e| export_err(path, e))?;
    }
    w.flush().map_err(|e| export_err(path, e))
}

fn export_xlsx(
    tickets: &[Ticket],
    report: &Report,
    tz: Tz,
    path: &Path,
    with_contact: bool,
) -> Result<(), TicketError> {
    let e = |x: rust_xlsxwriter::XlsxError| export_err(path, x);
    let bold = Format::new().set_bold();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("工单").map_err(e)?;
    for (c, h) in COLUMNS.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(e)?;
    }
    for (i, t) in tickets.iter().enumerate() {
        let r = i as u32 + 1;
        for (c, cell) in row(t, tz, with_contact).iter().enumerate() {
            if c == 14 {
                ws.write_number(r, c as u16, t.callbacks.len() as f64)
                    .map_err(e)?;
            } else {
                ws.write_string(r, c as u16, cell).map_err(e)?;
            }
        }
    }
    for (c, width) in [
        16, 10, 17, 40, 12, 6, 16, 12, 17, 17, 8, 17, 17, 30, 8, 10, 14,
    ]
    .iter()
    .enumerate()
    {
        ws.set_column_width(c as u16, *width).map_err(e)?;
    }
    ws.set_freeze_panes(1, 0).map_err(e)?;

    let stats = wb.add_worksheet();
    stats.set_name("统计").map_err(e)?;
    write_figures(stats, report, &bold, 0).map_err(e)?;
    stats.set_column_width(0, 18).map_err(e)?;
    wb.save(path).map_err(e)
}

/// The figures of `report` from row `top` down: one metric per row, then
/// one row per group.
fn write_figures(
    stats: &mut rust_xlsxwriter::Worksheet,
    report: &Report,
    bold: &Format,
    top: u32,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let f = &report.figures;
    let rows: Vec<(&str, Option<f64>)> = vec![
        ("受理", Some(f.received as f64)),
        ("办结", Some(f.resolved as f64)),
        ("办结率", f.resolution_rate),
        ("按期办结", Some(f.resolved_on_time as f64)),
        ("按期办结率", f.on_time_rate),
        ("超期（未办结）", Some(f.open_overdue as f64)),
        ("超期（逾期办结）", Some(f.resolved_late as f64)),
        ("超期率", f.overdue_rate),
        ("满意", Some(f.satisfied as f64)),
        ("基本满意", Some(f.basically_satisfied as f64)),
        ("不满意", Some(f.dissatisfied as f64)),
        ("满意率", f.satisfaction_rate),
        ("平均办理工作小时", f.avg_handling_business_hours),
    ];
    stats.write_string_with_format(top, 0, "指标", bold)?;
    stats.write_string_with_format(top, 1, "数值", bold)?;
    stats.write_string(
        top,
        3,
        format!("统计区间 {} 至 {}（不含）", report.from, report.to),
    )?;
    for (i, (k, v)) in rows.iter().enumerate() {
        let r = top + i as u32 + 1;
        stats.write_string(r, 0, *k)?;
        match v {
            Some(v) => stats.write_number(r, 1, *v)?,
            // nothing to divide by: left empty, not 0 %
            None => stats.write_string(r, 1, "—")?,
        };
    }
    // one row per group (department, topic, channel or station)
    if !report.groups.is_empty() {
        let top = top + rows.len() as u32 + 3;
        let head = [
            "分组",
            "受理",
            "办结",
            "办结率",
            "按期办结率",
            "满意率",
            "超期率",
        ];
        for (c, h) in head.iter().enumerate() {
            stats.write_string_with_format(top, c as u16, *h, bold)?;
        }
        for (i, g) in report.groups.iter().enumerate() {
            let r = top + 1 + i as u32;
            let g_f = &g.figures;
            stats.write_string(r, 0, &g.key)?;
            let cells = [
                Some(g_f.received as f64),
                Some(g_f.resolved as f64),
                g_f.resolution_rate,
                g_f.on_time_rate,
                g_f.satisfaction_rate,
                g_f.overdue_rate,
            ];
            for (c, v) in cells.iter().enumerate() {
                match v {
                    Some(v) => stats.write_number(r, c as u16 + 1, *v)?,
                    None => stats.write_string(r, c as u16 + 1, "—")?,
                };
            }
        }
    }
    Ok(())
}

/// The report a station hands to its leadership: one sheet, a title
/// (station, period), the figures and one row per group — no citizen's
/// contact in it.
pub fn report_xlsx(report: &Report, station: &str, path: &Path) -> Result<(), TicketError> {
    let e = |x: rust_xlsxwriter::XlsxError| export_err(path, x);
    let bold = Format::new().set_bold();
    let title = Format::new().set_bold().set_font_size(16);
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("工单办理情况").map_err(e)?;
    let last = report.to.pred_opt().unwrap_or(report.to);
    ws.write_string_with_format(
        0,
        0,
        format!("{station} 热线工单办理情况（{} 至 {}）", report.from, last),
        &title,
    )
    .map_err(e)?;
    write_figures(ws, report, &bold, 2).map_err(e)?;
    ws.set_column_width(0, 22).map_err(e)?;
    for c in 1..=6 {
        ws.set_column_width(c, 12).map_err(e)?;
    }
    wb.save(path).map_err(e)
}

/// Converts a workbook to PDF with LibreOffice (headless), as the station's
/// office PCs print it. A missing LibreOffice is a clear error.
pub fn xlsx_to_pdf(xlsx: &Path, pdf: &Path) -> Result<(), TicketError> {
    let soffice = ["soffice", "libreoffice"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .ok_or_else(|| {
            export_err(
                pdf,
                "PDF needs LibreOffice (Debian: apt install libreoffice-calc-nogui); the XLSX was written",
            )
        })?;
    let work = tempfile::tempdir().map_err(|e| export_err(pdf, e))?;
    let out = std::process::Command::new(soffice)
        .arg(format!(
            "-env:UserInstallation=file://{}",
            work.path().join("profile").display()
        ))
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(work.path())
        .arg(xlsx)
        .output()
        .map_err(|e| export_err(pdf, e))?;
    let stem = xlsx
        .file_stem()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_default();
    let made = work.path().join(stem).with_extension("pdf");
    if !out.status.success() || !made.is_file() {
        return Err(export_err(
            pdf,
            format!(
                "LibreOffice could not convert {}: {}",
                xlsx.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    std::fs::copy(&made, pdf).map_err(|e| export_err(pdf, e))?;
    Ok(())
}
