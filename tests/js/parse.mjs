// Parse iCalendar from stdin with ical.js (Thunderbird's parser) and print what it understood as JSON.
import ICAL from "ical.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const text = Buffer.concat(chunks).toString("utf8");

const root = new ICAL.Component(ICAL.parse(text));
const zones = root.getAllSubcomponents("vtimezone").map((vtz) => {
  ICAL.TimezoneService.register(vtz);
  return {
    tzid: vtz.getFirstPropertyValue("tzid"),
    standard: vtz.getAllSubcomponents("standard").length,
    daylight: vtz.getAllSubcomponents("daylight").length,
    comment: vtz.hasProperty("comment"),
    offsets: vtz.getAllSubcomponents().map((c) => c.getFirstPropertyValue("tzoffsetto").toString()),
  };
});
const param = (prop, name) => prop.getParameter(name) ?? null;
const events = root.getAllSubcomponents("vevent").map((vevent) => {
  const ev = new ICAL.Event(vevent);
  return {
    uid: ev.uid,
    sequence: ev.sequence,
    summary: ev.summary,
    location: ev.location,
    description: ev.description,
    status: vevent.getFirstPropertyValue("status"),
    start: ev.startDate.toJSDate().toISOString(),
    end: ev.endDate.toJSDate().toISOString(),
    start_tzid: ev.startDate.zone ? ev.startDate.zone.tzid : null,
    organizer: vevent.getFirstPropertyValue("organizer"),
    organizer_cn: param(vevent.getFirstProperty("organizer"), "cn"),
    attendees: vevent.getAllProperties("attendee").map((p) => ({
      value: p.getFirstValue(),
      cn: param(p, "cn"),
      role: param(p, "role"),
      partstat: param(p, "partstat"),
      rsvp: param(p, "rsvp"),
      cutype: param(p, "cutype"),
    })),
  };
});
const refresh = root.getFirstProperty("refresh-interval");
console.log(JSON.stringify({
  method: root.getFirstPropertyValue("method"),
  uid: root.getFirstPropertyValue("uid"),
  calname: root.getFirstPropertyValue("x-wr-calname"),
  refresh_interval: refresh ? refresh.getFirstValue().toString() : null,
  refresh_value_type: refresh ? refresh.type : null,
  published_ttl: root.getFirstPropertyValue("x-published-ttl"),
  zones,
  events,
}));
