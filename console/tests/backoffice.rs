//! The back-office seat, end to end, driven as a person would (by the
//! labels on screen) against a real journal, ticket store and data folder:
//! a hand-off becomes a ticket; it is routed to departments, dispatched with
//! a note, reassigned, escalated, annotated, given an attachment, resolved,
//! called back dissatisfied and reopened — each step in the desk's audit
//! trail. Deadline alerts show in red until acknowledged. One image
//! snapshot, `tests/snapshots/backoffice-detail.png` (`UPDATE_SNAPSHOTS=1`
//! rewrites it).
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::time::{Duration, Instant};

use airbridge_console::app::{ConsoleApp, Role as SeatRole};
use airbridge_show::{Journal, LineState, ShowEvent};
use airbridge_tickets::{Change, NewTicket, Satisfaction, Source, TicketState};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{By, NodeT, Queryable};

mod common;
use common::{Spec, Station, click, fixed_utc, step_until};

/// A seat over fresh stores, everything on the fixed clock.
fn seat(role: SeatRole) -> (Harness<'static, ConsoleApp>, Station) {
    common::seat(Spec {
        height: 1000.0,
        ..Spec::new(role)
    })
}

/// Types into the text field showing `placeholder` while empty.
fn fill(h: &mut Harness<'_, ConsoleApp>, placeholder: &'static str, text: &str) {
    let by = || {
        By::new()
            .role(Role::TextInput)
            .predicate(move |n| n.data().placeholder() == Some(placeholder))
    };
    h.get(by()).click();
    h.run_steps(2);
    h.get(by()).type_text(text);
    h.run_steps(2);
}

/// Steps the UI until a label containing `text` shows (a toast).
#[allow(clippy::disallowed_methods)] // pacing a test, not product code
fn wait_label(h: &mut Harness<'_, ConsoleApp>, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while h.query_by_label_contains(text).is_none() {
        assert!(Instant::now() < deadline, "timed out waiting for: {text}");
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn ticket_is(h: &Harness<'_, ConsoleApp>, f: impl Fn(&airbridge_tickets::Ticket) -> bool) -> bool {
    h.state()
        .model()
        .ticket_detail()
        .is_some_and(|d| f(&d.ticket))
}

fn wait_ticket(
    h: &mut Harness<'_, ConsoleApp>,
    what: &str,
    f: impl Fn(&airbridge_tickets::Ticket) -> bool,
) {
    step_until(h, what, |a| {
        a.model().ticket_detail().is_some_and(|d| f(&d.ticket))
    });
}

/// A call on line 3 handed to the back office from the screener seat; the
/// back-office seat with the ticket open. Returns the ticket id.
fn hand_off_and_open(h: &mut Harness<'_, ConsoleApp>, journal: &Journal) -> String {
    journal
        .append(
            "phone",
            ShowEvent::CallRang {
                line: 3,
                caller_masked: "137****0003".into(),
                caller_key: "caller-c".into(),
            },
        )
        .unwrap();
    for (n, text) in [(1, "小区门口的路灯坏了一个月"), (2, "晚上出门很不安全")]
    {
        journal
            .append(
                "speech",
                ShowEvent::TranscriptSegment {
                    line: 3,
                    utterance: n,
                    text: text.into(),
                    start_ms: 0,
                    end_ms: 4000,
                    is_final: true,
                },
            )
            .unwrap();
    }
    step_until(h, "the call", |a| {
        a.board().line_state(3) == LineState::Ringing
    });
    h.key_press(egui::Key::Num3);
    h.run_steps(2);
    click(h, "来电转线下 T");
    step_until(h, "the ticket", |a| {
        a.board().offline.iter().any(|o| o.ticket_id.is_some())
    });
    let id = h.state().board().offline[0].ticket_id.clone().unwrap();
    click(h, "后台");
    step_until(h, "the queues", |a| a.ticket_snapshot().is_some());
    h.get_all_by_label(&id).next().unwrap().click();
    step_until(h, "the detail", |a| a.ticket_detail().is_some());
    id
}

#[test]
fn a_hand_off_is_routed_dispatched_resolved_called_back_and_reopened_with_its_trail() {
    let (mut h, st) = seat(SeatRole::Screener);
    let id = hand_off_and_open(&mut h, &st.journal);
    // the call's words beside the ticket, in order
    let said: Vec<String> = h
        .query_all_by_label_contains("转写：")
        .map(|n| {
            let n = n.accesskit_node();
            n.label()
                .filter(|l| !l.is_empty())
                .or_else(|| n.value())
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(
        said[0].ends_with("转写：小区门口的路灯坏了一个月"),
        "{said:?}"
    );
    assert!(said[1].ends_with("转写：晚上出门很不安全"), "{said:?}");

    // a form left empty says so, in Chinese
    click(&mut h, "督办");
    assert!(h.query_by_label_contains("请填写督办原因").is_some());

    // departments by name: the first of the directory is proposed; take 住建局
    click(&mut h, "选择承办部门");
    click(&mut h, "市人力资源和社会保障局");
    click(&mut h, "市住房和城乡建设局");
    click(&mut h, "一般");
    wait_ticket(&mut h, "classified", |t| {
        t.state == TicketState::Classified && t.departments == ["zjj"]
    });

    // dispatch with a note
    fill(&mut h, "派发说明（可空）", "请三日内派人维修");
    click(&mut h, "派发");
    wait_ticket(&mut h, "dispatched with its note", |t| {
        t.state == TicketState::Dispatched
            && t.notes
                .iter()
                .any(|n| n.text == "派发说明：请三日内派人维修")
    });

    // 改派 to another department, with the reason
    click(&mut h, "市住房和城乡建设局");
    click(&mut h, "市市场监督管理局");
    click(&mut h, "改派");
    assert!(h.query_by_label_contains("请填写改派原因").is_some());
    fill(&mut h, "改派原因", "路灯由市场监管局下属单位维护");
    click(&mut h, "改派");
    wait_ticket(&mut h, "reassigned", |t| t.departments == ["scjgj"]);
    // the department's queue lists it
    step_until(&mut h, "the department queue", |a| {
        a.ticket_snapshot()
            .is_some_and(|s| s.department("scjgj").iter().any(|t| t.id == id))
    });
    let before = h.query_all_by_label(&id).count();
    h.get_by_role(Role::ComboBox).click();
    h.run_steps(2);
    h.get_by_label("市场监管局 1").click_accesskit();
    h.run_steps(2);
    assert_eq!(h.query_all_by_label(&id).count(), before + 1);

    // 督办 and a note
    fill(&mut h, "督办原因", "市民多次反映");
    click(&mut h, "督办");
    wait_ticket(&mut h, "escalated", |t| t.escalation == 1);
    fill(&mut h, "备注内容", "已电话联系承办人");
    click(&mut h, "添加备注");
    wait_ticket(&mut h, "noted", |t| {
        t.notes.iter().any(|n| n.text == "已电话联系承办人")
    });

    // an attachment: copied under <data>/attachments/<id>/ and listed
    let photo = st.dir.path().join("现场照片.txt");
    std::fs::write(&photo, "路灯 3 号杆").unwrap();
    fill(
        &mut h,
        "附件文件路径（本机，最大 20 MiB）",
        &photo.display().to_string(),
    );
    click(&mut h, "附件");
    step_until(&mut h, "the attachment", |a| {
        a.model()
            .ticket_detail()
            .is_some_and(|d| d.attachments.len() == 1)
    });
    let kept: Vec<_> = std::fs::read_dir(st.dir.path().join("attachments").join(&id))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].ends_with("-现场照片.txt") && kept[0].len() == 64 + 1 + "现场照片.txt".len());
    assert!(h.query_by_label_contains("文件 现场照片.txt").is_some());
    // a missing file is refused with a toast
    fill(
        &mut h,
        "附件文件路径（本机，最大 20 MiB）",
        "/no/such/file.pdf",
    );
    click(&mut h, "附件");
    wait_label(&mut h, "/no/such/file.pdf");

    // resolve, call back dissatisfied, reopen with the reason
    h.get_by_role(Role::MultilineTextInput).click();
    h.run_steps(2);
    h.get_by_role(Role::MultilineTextInput)
        .type_text("已更换灯泡");
    h.run_steps(2);
    click(&mut h, "办结");
    wait_ticket(&mut h, "resolved", |t| t.state == TicketState::Resolved);
    click(&mut h, "已回访：不满意");
    wait_ticket(&mut h, "called back", |t| {
        t.satisfaction == Some(Satisfaction::Dissatisfied)
    });
    click(&mut h, "重新办理");
    assert!(h.query_by_label_contains("请填写重新办理的原因").is_some());
    fill(&mut h, "重新办理原因", "路灯仍然不亮");
    click(&mut h, "重新办理");
    wait_ticket(&mut h, "reopened", |t| {
        t.state == TicketState::Dispatched && t.reopened == 1
    });
    assert!(ticket_is(&h, |t| t.departments == ["scjgj"]));

    // the desk's audit trail has every step, by this seat
    let audit = st.runtime.with_desk(|d| d.audit(&id)).unwrap().unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "create",
            "classify",
            "dispatch",
            "note",
            "reassign",
            "escalate",
            "note",
            "attach",
            "resolve",
            "call_back",
            "reopen"
        ]
    );
    assert!(audit[1..].iter().all(|a| a.who == "backoffice"));
    assert_eq!(
        audit[4].detail["change"]["reason"],
        "路灯由市场监管局下属单位维护"
    );
    assert_eq!(audit[10].detail["change"]["reason"], "路灯仍然不亮");
    // and the seat shows it
    assert!(
        h.query_by_label_contains("重新办理：路灯仍然不亮")
            .is_some()
    );
}

#[test]
fn an_overdue_ticket_raises_a_red_banner_until_acknowledged() {
    let (mut h, st) = seat(SeatRole::Screener);
    // received ten days ago: both deadlines long passed
    let late = st
        .runtime
        .with_desk(|d| {
            let mut t = NewTicket::new(
                Source::Wechat,
                "公租房申请一直没有答复",
                fixed_utc() - chrono::Duration::days(10),
            );
            t.departments = vec!["zjj".into()];
            d.create(t, "screener")
        })
        .unwrap()
        .unwrap();
    let id = hand_off_and_open(&mut h, &st.journal);
    step_until(&mut h, "the alerts", |a| {
        a.ticket_snapshot().is_some_and(|s| !s.alerts.is_empty())
    });
    h.run_steps(2);
    assert!(
        h.query_by_label_contains(&format!(
            "超期提醒：工单 {} 已超期（办结时限 11-18 17:30）",
            late.id
        ))
        .is_some()
    );
    assert!(
        h.query_by_label_contains(&format!("超期提醒：工单 {} 已超期（转办时限", late.id))
            .is_some()
    );
    // the new ticket is not late
    assert!(
        h.query_by_label_contains(&format!("工单 {id} 已超期"))
            .is_none()
    );
    assert!(h.query_by_label("已超期 1（2 条新提醒）").is_some());
    h.run_steps(4);
    h.snapshot("backoffice-detail");

    click(&mut h, "确认");
    assert!(h.query_by_label_contains("超期提醒").is_none());
    assert!(h.query_by_label("已超期 1").is_some());
    // a later refresh does not bring the acknowledged alerts back
    h.state_mut()
        .command(airbridge_console::backend::Command::RefreshTickets);
    h.run_steps(10);
    assert!(h.query_by_label_contains("超期提醒").is_none());
}

/// The statistics answer for the period and grouping the seat picks, with
/// the desk's own figures (the formulas are tested in the tickets crate).
#[test]
fn statistics_by_period_and_grouping() {
    let (mut h, st) = seat(SeatRole::Screener);
    let now = fixed_utc();
    let make = |topic: &str, source: Source, days_ago: i64, resolve: bool| {
        st.runtime
            .with_desk(|d| {
                let mut t =
                    NewTicket::new(source, "测试问题", now - chrono::Duration::days(days_ago));
                t.topic = topic.into();
                t.departments = vec!["zjj".into()];
                let t = d.create(t, "screener")?;
                if resolve {
                    let mut t = t;
                    for change in [
                        Change::Classify {
                            class: airbridge_configs::TicketClass::General,
                            departments: vec!["zjj".into()],
                        },
                        Change::Dispatch { assignee: None },
                        Change::Resolve {
                            resolution: "已办结".into(),
                        },
                    ] {
                        t = d.apply(&t.id, t.version, &change, "backoffice")?;
                    }
                }
                Ok::<_, airbridge_tickets::TicketError>(())
            })
            .unwrap()
            .unwrap();
    };
    make("公租房", Source::Call, 1, true);
    make("公租房", Source::Wechat, 2, false);
    make("路灯", Source::Danmaku, 3, true);
    click(&mut h, "后台");
    step_until(&mut h, "the statistics", |a| {
        a.model().stats_report().is_some()
    });

    click(&mut h, "按话题");
    step_until(&mut h, "by topic", |a| {
        a.model()
            .stats_report()
            .is_some_and(|r| r.by == Some(airbridge_tickets::report::GroupBy::Topic))
    });
    let r = h.state().model().stats_report().unwrap().clone();
    let keys: Vec<&str> = r.groups.iter().map(|g| g.key.as_str()).collect();
    assert_eq!(keys, ["公租房", "路灯"]);
    assert_eq!((r.received, r.resolved), (3, 2));
    assert_eq!(r.groups[0].figures.resolution_rate, Some(0.5));
    h.run_steps(3);
    assert!(h.query_by_label("路灯").is_some());
    assert!(
        h.query_all_by_label("50.0%").next().is_some(),
        "公租房's 办结率 in the table"
    );

    click(&mut h, "按渠道");
    step_until(&mut h, "by channel", |a| {
        a.model()
            .stats_report()
            .is_some_and(|r| r.by == Some(airbridge_tickets::report::GroupBy::Channel))
    });
    h.run_steps(3);
    assert!(h.query_by_label("热线来电").is_some());
    assert!(h.query_by_label("直播弹幕").is_some());

    // last month had none of them
    click(&mut h, "上月");
    step_until(&mut h, "last month", |a| {
        a.model().stats_report().is_some_and(|r| r.received == 0)
    });
    h.run_steps(3);
    assert!(h.query_by_label("这段时间没有受理工单").is_some());
}
