/*
 * i18n.js: the workspace's words in Norwegian bokmål (the default) and
 * English, as DHO and home nurses say them (docs/workspace.md), and the
 * formatting of times (Europe/Oslo, 24-hour), ages, values and reasons.
 */
"use strict";

const I18N = (() => {
  const TZ = "Europe/Oslo";

  const words = {
    nb: {
      title: "Varsler",
      skip: "Hopp til innhold",
      login_title: "Logg inn",
      user: "Brukernavn",
      password: "Passord",
      otp: "Engangskode",
      otp_hint: "Seks sifre fra appen for engangskoder",
      login: "Logg inn",
      logout: "Logg ut",
      logged_in_as: "Innlogget som",
      language: "Språk",
      err_login: "Feil brukernavn eller passord.",
      err_otp: "Skriv inn engangskoden fra appen.",
      err_throttled: "For mange forsøk. Prøv igjen om {min} min.",
      err_network: "Får ikke kontakt med serveren. Prøv igjen.",
      err_session: "Økten er utløpt. Logg inn på nytt.",
      err_conflict: "Varselet er endret av en annen i mellomtiden. Listen er oppdatert; se på det igjen.",
      err_generic: "Det gikk ikke: {msg}",
      err_note: "Skriv et notat før du avslutter.",
      triage: "Varsler",
      my_teams: "Mine team",
      counts: "Åpne varsler",
      red: "Rød", yellow: "Gul",
      n_red: "{n} røde", n_yellow: "{n} gule", n_red_one: "{n} rød", n_yellow_one: "{n} gul",
      n_unacked: "{n} ikke kvittert",
      filters: "Filter",
      team: "Team",
      all_teams: "Alle mine team",
      state: "Status",
      st_active: "Ikke avsluttet",
      st_open: "Ny (ikke kvittert)",
      st_acked: "Kvittert",
      st_resolved: "Avsluttet",
      st_all: "Alle",
      empty: "Ingen varsler her nå.",
      patient: "Pasient",
      reason: "Årsak",
      latest: "Siste måling",
      no_value: "ingen måling",
      opened: "Åpnet",
      responsible: "Ansvarlig team",
      state_new: "ny",
      state_acked: "kvittert av {by} {time}",
      state_escalated: "eskalert fra {team}",
      state_escalated_level: "eskalert (nivå {n})",
      state_recurred: "oppstått igjen",
      state_raised: "forverret",
      state_cleared: "normalisert",
      state_reminded: "påminnelse sendt",
      state_resolved: "avsluttet av {by} {time}",
      state_resolved_auto: "avsluttet automatisk {time} (normalisert og kvittert)",
      alert_red: "rødt varsel", alert_yellow: "gult varsel",
      ack: "Kvitter",
      resolve: "Avslutt",
      ack_title: "Kvitter varsel {id}",
      resolve_title: "Avslutt varsel {id}",
      note: "Notat",
      note_optional: "Notat (valgfritt)",
      note_required: "Notat (må fylles ut)",
      cancel: "Avbryt",
      live_on: "Direkte",
      live_off: "Frakoblet – prøver igjen",
      updated: "Oppdatert {time}",
      back: "Tilbake til varslene",
      open_alerts: "Åpne varsler",
      no_open_alerts: "Ingen åpne varsler.",
      limits: "Grenseverdier",
      limit_program: "program",
      limit_patient: "personlig",
      rule: "Regel",
      spec: "Grenser",
      origin: "Fra",
      charts: "Målinger",
      days7: "7 dager",
      days30: "30 dager",
      readings: "Målinger (tabell)",
      time: "Tid",
      metric: "Måling",
      missing_after: "{sev} etter {span}",
      value: "Verdi",
      device: "Apparat",
      missing: "manglende måling",
      no_readings: "Ingen målinger i perioden.",
      timeline: "Hendelser og notater",
      no_events: "Ingen hendelser.",
      program: "Program",
      discharged: "Utskrevet",
      ended: "Avsluttet oppfølging",
      tenant: "Kommune",
      band_red: "rød grense",
      band_yellow: "gul grense",
      chart_label: "{metric} de siste {days} dagene: {n} målinger, {y} gule og {r} røde, {g} perioder uten måling",
      ev_opened: "åpnet",
      ev_raised: "forverret",
      ev_recurred: "oppstått igjen",
      ev_escalated: "eskalert til {team}",
      ev_reminded: "påminnelse",
      ev_acked: "kvittert av {by}",
      ev_cleared: "normalisert",
      ev_resolved: "avsluttet av {by}",
      by_auto: "automatisk (normalisert og kvittert)",
      ev_resolved_auto: "avsluttet automatisk (normalisert og kvittert)",
      new_alert: "Nytt {what} {id}",
      changed_alert: "Varsel {id}: {what}",
      not_found: "Fant ikke pasienten, eller du har ikke tilgang.",
      moved: "{id} ({patient}) ble ikke kvittert i tide og er eskalert til {team} ({time}). Det er ikke lenger på listen din.",
      dismiss: "Skjul",
      role_auditor: "Du er logget inn som revisor og ser ingen pasientdata.",
      now: "nå",
      ago_min: "for {n} min siden",
      ago_h: "for {n} t siden",
      ago_d: "for {n} d siden",
      ago_s: "for under ett min siden",
    },
    en: {
      title: "Alerts",
      skip: "Skip to content",
      login_title: "Log in",
      user: "User name",
      password: "Password",
      otp: "One-time code",
      otp_hint: "Six digits from your authenticator app",
      login: "Log in",
      logout: "Log out",
      logged_in_as: "Logged in as",
      language: "Language",
      err_login: "Wrong user name or password.",
      err_otp: "Enter the one-time code from your app.",
      err_throttled: "Too many attempts. Try again in {min} min.",
      err_network: "Cannot reach the server. Try again.",
      err_session: "Your session has expired. Log in again.",
      err_conflict: "Someone else changed this alert meanwhile. The list is up to date; look at it again.",
      err_generic: "That did not work: {msg}",
      err_note: "Write a note before you resolve.",
      triage: "Alerts",
      my_teams: "My teams",
      counts: "Open alerts",
      red: "Red", yellow: "Yellow",
      n_red: "{n} red", n_yellow: "{n} yellow", n_red_one: "{n} red", n_yellow_one: "{n} yellow",
      n_unacked: "{n} not acknowledged",
      filters: "Filter",
      team: "Team",
      all_teams: "All my teams",
      state: "State",
      st_active: "Not resolved",
      st_open: "New (not acknowledged)",
      st_acked: "Acknowledged",
      st_resolved: "Resolved",
      st_all: "All",
      empty: "No alerts here now.",
      patient: "Patient",
      reason: "Reason",
      latest: "Latest reading",
      no_value: "no reading",
      opened: "Opened",
      responsible: "Responsible team",
      state_new: "new",
      state_acked: "acknowledged by {by} {time}",
      state_escalated: "escalated from {team}",
      state_escalated_level: "escalated (level {n})",
      state_recurred: "recurred",
      state_raised: "worse",
      state_cleared: "values normal again",
      state_reminded: "reminder sent",
      state_resolved: "resolved by {by} {time}",
      state_resolved_auto: "resolved automatically {time} (normal again and acknowledged)",
      alert_red: "red alert", alert_yellow: "yellow alert",
      ack: "Acknowledge",
      resolve: "Resolve",
      ack_title: "Acknowledge alert {id}",
      resolve_title: "Resolve alert {id}",
      note: "Note",
      note_optional: "Note (optional)",
      note_required: "Note (required)",
      cancel: "Cancel",
      live_on: "Live",
      live_off: "Disconnected – retrying",
      updated: "Updated {time}",
      back: "Back to the alerts",
      open_alerts: "Open alerts",
      no_open_alerts: "No open alerts.",
      limits: "Limits",
      limit_program: "program",
      limit_patient: "personal",
      rule: "Rule",
      spec: "Limits",
      origin: "From",
      charts: "Readings",
      days7: "7 days",
      days30: "30 days",
      readings: "Readings (table)",
      time: "Time",
      metric: "Measurement",
      missing_after: "{sev} after {span}",
      value: "Value",
      device: "Device",
      missing: "missing measurement",
      no_readings: "No readings in this period.",
      timeline: "Events and notes",
      no_events: "No events.",
      program: "Programme",
      discharged: "Discharged",
      ended: "Follow-up ended",
      tenant: "Municipality",
      band_red: "red limit",
      band_yellow: "yellow limit",
      chart_label: "{metric} over the last {days} days: {n} readings, {y} yellow and {r} red, {g} periods without a reading",
      ev_opened: "opened",
      ev_raised: "worse",
      ev_recurred: "recurred",
      ev_escalated: "escalated to {team}",
      ev_reminded: "reminder",
      ev_acked: "acknowledged by {by}",
      ev_cleared: "values normal again",
      ev_resolved: "resolved by {by}",
      by_auto: "automatically (normal again and acknowledged)",
      ev_resolved_auto: "resolved automatically (normal again and acknowledged)",
      new_alert: "New {what} {id}",
      changed_alert: "Alert {id}: {what}",
      not_found: "Patient not found, or not yours to see.",
      moved: "{id} ({patient}) was not acknowledged in time and escalated to {team} ({time}). It is no longer on your list.",
      dismiss: "Hide",
      role_auditor: "You are logged in as an auditor and see no patient data.",
      now: "now",
      ago_min: "{n} min ago",
      ago_h: "{n} h ago",
      ago_d: "{n} d ago",
      ago_s: "less than a minute ago",
    },
  };

  const metrics = {
    nb: {
      spo2: "Oksygenmetning (SpO₂)", pulse: "Puls", resp_rate: "Respirasjonsfrekvens",
      temp: "Temperatur", bp_sys: "Blodtrykk, systolisk", bp_dia: "Blodtrykk, diastolisk",
      bp_map: "Middelblodtrykk", weight: "Vekt", glucose: "Blodsukker",
      on_oxygen: "Får oksygen", consciousness: "Bevissthet (ACVPU)", cat_score: "CAT-skår",
      news2: "NEWS2", any: "alle målinger",
    },
    en: {
      spo2: "SpO₂", pulse: "Pulse", resp_rate: "Respiratory rate", temp: "Temperature",
      bp_sys: "Blood pressure, systolic", bp_dia: "Blood pressure, diastolic",
      bp_map: "Mean arterial pressure", weight: "Weight", glucose: "Blood glucose",
      on_oxygen: "On oxygen", consciousness: "Consciousness (ACVPU)", cat_score: "CAT score",
      news2: "NEWS2", any: "any reading",
    },
  };

  /* The short names nurses use inside a sentence ("SpO₂ 86 %"). */
  const short = {
    nb: { spo2: "SpO₂", pulse: "puls", resp_rate: "resp.frekvens", temp: "temperatur",
          bp_sys: "systolisk BT", bp_dia: "diastolisk BT", bp_map: "middel-BT", weight: "vekt",
          glucose: "blodsukker", on_oxygen: "oksygen", consciousness: "bevissthet",
          cat_score: "CAT-skår" },
    en: { spo2: "SpO₂", pulse: "pulse", resp_rate: "resp. rate", temp: "temperature",
          bp_sys: "systolic BP", bp_dia: "diastolic BP", bp_map: "MAP", weight: "weight",
          glucose: "blood glucose", on_oxygen: "oxygen", consciousness: "consciousness",
          cat_score: "CAT score" },
  };

  const units = { "Cel": "°C", "mm[Hg]": "mmHg", "{score}": "", "1": "", "ACVPU": "" };

  const teamKinds = {
    nb: { "home-nursing": "Hjemmesykepleien", "hospital-dho": "Sykehusets DHO-team",
          "response-centre": "Responssenteret", "responssenter": "Responssenteret",
          "gp": "Fastlegekontoret" },
    en: { "home-nursing": "Home nursing", "hospital-dho": "Hospital DHO team",
          "response-centre": "Response centre", "responssenter": "Response centre",
          "gp": "GP office" },
  };

  let lang = "nb";

  function choose() {
    let stored = null;
    try { stored = localStorage.getItem("dhohub.lang"); } catch (e) { /* private mode */ }
    if (stored === "nb" || stored === "en") {
      lang = stored;
    } else {
      /* navigator.languages is the browser's Accept-Language. Norwegian
       * (nb, no, nn) or anything we do not speak gives bokmål. */
      const first = (navigator.languages && navigator.languages[0]) || navigator.language || "nb";
      lang = /^en\b/i.test(first) ? "en" : "nb";
    }
    document.documentElement.lang = lang;
    return lang;
  }

  function set(l) {
    lang = l === "en" ? "en" : "nb";
    try { localStorage.setItem("dhohub.lang", lang); } catch (e) { /* private mode */ }
    document.documentElement.lang = lang;
  }

  function t(key, args) {
    let s = words[lang][key];
    if (s === undefined) s = words.nb[key] || key;
    if (args) s = s.replace(/\{(\w+)\}/g, (m, k) => (args[k] !== undefined ? String(args[k]) : m));
    return s;
  }

  function metricName(m) { return metrics[lang][m] || m; }
  function metricShort(m) { return short[lang][m] || m; }
  function unit(u) { return u in units ? units[u] : (u || ""); }

  function number(v, decimals) {
    if (typeof v !== "number" || !isFinite(v)) return "";
    const opts = decimals === undefined
      ? { maximumFractionDigits: 2 } : { minimumFractionDigits: decimals, maximumFractionDigits: decimals };
    return new Intl.NumberFormat(lang === "en" ? "en-GB" : "nb-NO", opts).format(v);
  }

  function acvpu(v) { return "ACVPU".charAt(v) || String(v); }

  function quantity(metric, v, u) {
    if (metric === "consciousness") return acvpu(v);
    if (metric === "on_oxygen") return v ? (lang === "en" ? "yes" : "ja") : (lang === "en" ? "no" : "nei");
    const un = unit(u);
    /* "116/min" as nurses write it, "86 %" and "84,6 kg" with a space. */
    return number(v) + (un ? (un.charAt(0) === "/" ? "" : "\u00a0") + un : "");
  }

  function team(id) {
    if (!id) return "";
    const slash = id.indexOf("/");
    if (slash < 0) return id;
    const kind = teamKinds[lang][id.slice(0, slash)];
    const name = id.slice(slash + 1).split(/[-_]/)
      .map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(" ");
    return kind ? kind + " " + name : id;
  }

  const locale = () => (lang === "en" ? "en-GB" : "nb-NO");
  function fmt(d, opts) {
    return new Intl.DateTimeFormat(locale(), Object.assign({ timeZone: TZ, hourCycle: "h23" }, opts)).format(d);
  }
  function dayKey(d) { return fmt(d, { year: "numeric", month: "2-digit", day: "2-digit" }); }

  /* "08:14" today, "i går 08:14" / "yesterday 08:14", else "3. des. 08:14". */
  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (isNaN(d)) return "";
    const hm = fmt(d, { hour: "2-digit", minute: "2-digit" });
    const now = new Date();
    if (dayKey(d) === dayKey(now)) return hm;
    if (dayKey(d) === dayKey(new Date(now.getTime() - 86400000)))
      return (lang === "en" ? "yesterday " : "i går ") + hm;
    return fmt(d, { day: "numeric", month: "short" }) + " " + hm;
  }

  function dateTime(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return "";
    return fmt(d, { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
  }

  function date(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return iso || "";
    return fmt(d, { day: "numeric", month: "long", year: "numeric" });
  }

  /* "for 12 min siden" / "12 min ago". */
  function age(iso, nowMs) {
    const d = Date.parse(iso);
    if (isNaN(d)) return "";
    const s = Math.max(0, ((nowMs || Date.now()) - d) / 1000);
    if (s < 60) return t("ago_s");
    if (s < 5400) return t("ago_min", { n: Math.round(s / 60) });
    if (s < 2 * 86400) return t("ago_h", { n: Math.round(s / 3600) });
    return t("ago_d", { n: Math.round(s / 86400) });
  }

  /* The hub writes its reasons in English (rules/rules.c). The patterns
   * below say the common ones in bokmål; any other reason is shown as the
   * hub wrote it. */
  const sevNb = { red: "rød", yellow: "gul" };
  const unitNb = (s) => s.replace(/percentage points?/, "prosentpoeng")
    .replace(/\bhours?\b/, "t").replace(/\bdays?\b/, "døgn").replace(/\bminutes?\b/, "min")
    .replace(/\bseconds?\b/, "s").replace(/\./g, ",");
  const qty = (s) => s.replace(/(\d)\.(\d)/g, "$1,$2").replace(/ Cel\b|°C/, " °C").replace(/mm\[Hg\]/, "mmHg")
    .replace(/ \/min/g, "/min");

  const reasons = [
    [/^(\w+) (.+?) is (below|above|at or below|at or above) the (red|yellow) limit (.+)$/, (m) => {
      const dir = { "below": "under", "above": "over", "at or below": "på eller under", "at or above": "på eller over" }[m[3]];
      return metricShort(m[1]) + " " + qty(m[2]) + " " + dir + " " + sevNb[m[4]] + " grense " + qty(m[5]);
    }],
    [/^(\w+) (rose|fell) (.+?) in (.+?), (?:above|beyond) the (red|yellow) limit (.+)$/, (m) =>
      metricShort(m[1]) + " " + (m[2] === "rose" ? "steg" : "falt") + " " + unitNb(m[3]) + " på " +
      unitNb(m[4]) + ", over " + sevNb[m[5]] + " grense " + unitNb(m[6])],
    [/^no (\w+) reading for (.+?), past the (red|yellow) limit (.+)$/, (m) =>
      "Ingen måling av " + metricShort(m[1]) + " på " + unitNb(m[2]) + " (" + sevNb[m[3]] + " grense " + unitNb(m[4]) + ")"],
    [/^no reading of any metric for (.+?), past the (red|yellow) limit (.+)$/, (m) =>
      "Ingen målinger på " + unitNb(m[1]) + " (" + sevNb[m[2]] + " grense " + unitNb(m[3]) + ")"],
    [/^(\w+) (.+?) is (.+?) (above|below) the patient's baseline (.+?) \(median of (\d+) readings over (.+?)\), beyond the (red|yellow) limit (.+)$/, (m) =>
      metricShort(m[1]) + " " + qty(m[2]) + " er " + unitNb(m[3]) + " " + (m[4] === "above" ? "over" : "under") +
      " pasientens vanlige nivå " + qty(m[5]) + " (median av " + m[6] + " målinger siste " + unitNb(m[7]) +
      "), forbi " + sevNb[m[8]] + " grense " + unitNb(m[9])],
    [/^NEWS2 total (\d+) \((\w+)\):(.*)$/, (m) =>
      "NEWS2 totalt " + m[1] + " (" + ({ low: "lav", "low-medium": "lav–middels", medium: "middels", high: "høy" }[m[2]] || m[2]) +
      " risiko):" + m[3].replace(/ scores /g, " gir ").replace(/on oxygen/, "får oksygen").replace(/on scale/, "skala")
      .replace(/\b(spo2|resp_rate|pulse|temp|bp_sys|consciousness)\b/g, (x) => metricShort(x))],
  ];

  const capital = (s) => s.charAt(0).toUpperCase() + s.slice(1);

  function reason(text) {
    if (!text || lang === "en") {
      return { text: capital((text || "").replace(/\b(spo2)\b/, "SpO₂").replace(/mm\[Hg\]/g, "mmHg").replace(/ Cel\b/g, " °C")), translated: true };
    }
    for (const [re, say] of reasons) {
      const m = re.exec(text);
      if (m) return { text: capital(say(m)), translated: true };
    }
    return { text: text, translated: false };
  }

  /* A limit's duration: "26 t", "2 døgn", "90 min". */
  function span(secs) {
    if (secs % 86400 === 0) return secs / 86400 + (lang === "en" ? " d" : " døgn");
    if (secs % 3600 === 0) return secs / 3600 + (lang === "en" ? " h" : " t");
    if (secs % 60 === 0) return secs / 60 + " min";
    return secs + " s";
  }

  return { choose, set, t, metricName, metricShort, unit, number, quantity, team, when,
    dateTime, date, age, reason, span, get lang() { return lang; }, TZ };
})();
