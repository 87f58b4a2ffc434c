//! Times the rendering of one job's nine images (3 styles × 3 platforms) and, with an output
//! directory argument, writes them there to look at. Run in release on one core:
//! `taskset -c 0 cargo run --release -p content-service --bin render-bench [-- OUT_DIR]`.

use std::time::Instant;

use content_service::render::{Platform, RenderInput, Style, render};

fn main() {
    let out = std::env::args().nth(1);
    let input = RenderInput {
        title: "신규 고객 유치 SNS 팔로우 이벤트".into(),
        prize: "아메리카노 1+1 쿠폰".into(),
        participation: Some("매장 인스타그램 팔로우 후 이벤트 게시물에 친구를 태그해 주세요".into()),
        period: Some("2025-11-01 ~ 2025-11-30".into()),
        store_name: Some("홍길동 카페 강남점".into()),
        ..RenderInput::default()
    };
    let rounds = 5;
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let start = Instant::now();
        for style in Style::ALL {
            for platform in Platform::ALL {
                let png = match render(&input, style, platform) {
                    Ok(png) => png,
                    Err(error) => {
                        eprintln!("render failed: {error}");
                        std::process::exit(1);
                    }
                };
                if let Some(dir) = &out {
                    let path = format!("{dir}/{}-{}.png", style.slug(), platform.slug());
                    if let Err(error) = std::fs::write(&path, &png) {
                        eprintln!("{path}: {error}");
                        std::process::exit(1);
                    }
                }
            }
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!("render 9 images (one job): best of {rounds}: {:.1} ms (goal < 1000 ms)", best * 1000.0);
}
