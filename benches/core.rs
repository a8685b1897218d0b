//! Micro-benchmarks of the pure core: the wire codecs and the hub's fan-out.
//! Run with `cargo bench`; results are printed by criterion and kept under target/criterion.

use bytes::BytesMut;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use tokio_util::codec::Decoder;

use sockchat::hub::{Arrival, Focus, Hub, HubConfig, Input, Login};
use sockchat::names::{ConnId, Nick, RoomName};
use sockchat::protocol::{Command, Event, Message, MessageId, Request};
use sockchat::transport::line::LineCodec;
use sockchat::transport::{Encoded, WireMode, json, text};

fn message() -> Event {
    Event::Message(Message {
        id: MessageId(42),
        ts: 1_764_000_000_000,
        from: Nick::parse("alice").unwrap(),
        account: None,
        room: Some(RoomName::lobby()),
        to: None,
        text: "x".repeat(64),
        action: false,
    })
}

fn codecs(c: &mut Criterion) {
    let line = format!("{}\n", "y".repeat(64));
    let json_line = format!(r#"{{"id":7,"type":"say","room":"lobby","text":"{}"}}"#, "y".repeat(64));
    c.bench_function("text::parse a typed line", |b| {
        b.iter(|| text::parse(black_box(line.trim_end().as_bytes())))
    });
    c.bench_function("json::parse_request a say", |b| {
        b.iter(|| json::parse_request(black_box(json_line.as_bytes())))
    });
    let event = message();
    c.bench_function("text::render a message", |b| {
        b.iter(|| text::render(black_box(&event), Focus::Current))
    });
    c.bench_function("json::render_event a message", |b| {
        b.iter(|| json::render_event(black_box(&event)))
    });
    let many: String = (0..1000).map(|_| line.as_str()).collect();
    c.bench_function("LineCodec: 1000 lines of 64 bytes", |b| {
        b.iter(|| {
            let mut codec = LineCodec::new(1 << 20);
            let mut buf = BytesMut::from(many.as_bytes());
            let mut n = 0;
            while let Ok(Some(_)) = codec.decode(&mut buf) {
                n += 1;
            }
            n
        })
    });
}

fn fan_out(c: &mut Criterion) {
    let mut hub = Hub::new(HubConfig {
        server: "bench".into(),
        max_message: 1 << 20,
        presence_limit: 1000,
        max_rooms: 10_000,
        operator_nick: Nick::parse("server").unwrap(),
    });
    for i in 1..=100 {
        let arrival = Arrival {
            conn: ConnId(i),
            nick: None,
            room: None,
            peer: String::new(),
            operator: false,
            echo: false,
            ip: None,
            secure: false,
            login: Login::None,
            replay: 0,
            lands: true,
        };
        hub.handle(Input::Connect(arrival), 0);
    }
    let say = Command::Say {
        room: None,
        text: "z".repeat(64),
        action: false,
    };
    c.bench_function("hub: one message to a room of 100", |b| {
        b.iter(|| {
            hub.handle(
                Input::Request {
                    conn: ConnId(1),
                    request: Request::new(say.clone()),
                },
                1,
            )
        })
    });
    let event = message();
    c.bench_function("encode once for 100 recipients in both modes", |b| {
        b.iter(|| {
            let mut encoded = Encoded::new(&event);
            for i in 0..100 {
                let mode = if i % 2 == 0 { WireMode::Json } else { WireMode::Text };
                black_box(encoded.bytes(mode, Focus::Current));
            }
        })
    });
}

criterion_group!(benches, codecs, fan_out);
criterion_main!(benches);
