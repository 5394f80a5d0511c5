// Preloaded (node --require) by the session TTL test: shifts the clock the
// SDK sees so that, from the app's call of globalThis.compatClockStart(),
// it reads second COMPAT_CLOCK_SECOND (+0.5 s) of a minute, whatever the
// real time is (set then, not at startup: starting Node and the SDK takes
// seconds on a loaded machine). Both SDKs compute session_created's
// expiresAt from this clock (new Date(); setSeconds(ttl)), so the test can
// try any second of the minute without waiting for it. The shift is at most
// 30 s either way. performance.now() is not shifted: the app measures real
// durations with it.
"use strict";
const target = Number(process.env.COMPAT_CLOCK_SECOND);
if (Number.isInteger(target) && target >= 0 && target < 60) {
    const RealDate = Date;
    let shift = 0;
    class ShiftedDate extends RealDate {
        constructor(...a) {
            if (a.length === 0) super(RealDate.now() + shift);
            else super(...a);
        }
        static now() {
            return RealDate.now() + shift;
        }
    }
    globalThis.Date = ShiftedDate;
    globalThis.compatClockStart = () => {
        shift = target * 1000 + 500 - (RealDate.now() % 60000);
        if (shift > 30000) shift -= 60000;
        if (shift <= -30000) shift += 60000;
    };
}
