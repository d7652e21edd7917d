import Mustache

/// The pages' Mustache templates and stylesheet, compiled into the binary so that
/// `spor-server` stays one file to install. `{{x}}` escapes HTML; the only unescaped
/// value (`{{{body}}}`, `{{{proposalHTML}}}`) is HTML the server made itself: a page
/// rendered from these templates, or the export's fragment, whose document texts are
/// escaped by ``SporDocuments``.
enum WebTemplates {
    static func library() throws -> MustacheLibrary {
        var library = MustacheLibrary()
        try library.register(layout, named: "layout")
        try library.register(login, named: "login")
        try library.register(proposals, named: "proposals")
        try library.register(proposal, named: "proposal")
        try library.register(problem, named: "problem")
        return library
    }

    static let layout = """
        <!DOCTYPE html>
        <html lang="{{t.code}}">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} – Spor</title>
        <link rel="stylesheet" href="/static/spor.css">
        </head>
        <body>
        <a class="skip" href="#indhold">{{l.skipToContent}}</a>
        <header>
        <p class="brand"><a href="/proposals">Spor</a> <span>Klimaalliancen</span></p>
        <nav aria-label="{{l.appName}}">
        <a href="/language?to={{l.otherLanguageCode}}&amp;back={{path}}" lang="{{l.otherLanguageCode}}" hreflang="{{l.otherLanguageCode}}">{{l.otherLanguage}}</a>
        {{#account}}
        <span class="who">{{l.loggedInAs}} <strong>{{account}}</strong></span>
        <form method="post" action="/logout" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button type="submit">{{l.logoutButton}}</button>
        </form>
        {{/account}}
        </nav>
        </header>
        <main id="indhold" tabindex="-1">
        {{{body}}}
        </main>
        </body>
        </html>

        """

    static let login = """
        <h1>{{l.loginTitle}}</h1>
        <p>{{l.loginIntro}}</p>
        {{#problem}}<p class="problem" role="alert" id="login-problem">{{problem}}</p>{{/problem}}
        <form method="post" action="/login" class="login">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="token">{{l.tokenLabel}}</label>
        <input type="password" id="token" name="token" autocomplete="current-password" required maxlength="200" aria-describedby="token-help{{#problem}} login-problem{{/problem}}">
        <p id="token-help" class="help">{{l.tokenHelp}}</p>
        <button type="submit">{{l.loginButton}}</button>
        </form>

        """

    static let proposals = """
        <h1>{{l.proposalsTitle}}</h1>
        {{#hasRounds}}
        <form method="get" action="/proposals" class="filter">
        <input type="hidden" name="sort" value="{{sort}}">
        <input type="hidden" name="order" value="{{order}}">
        <label for="round">{{l.roundFilter}}</label>
        <select id="round" name="round">
        <option value="">{{l.allRounds}}</option>
        {{#rounds}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/rounds}}
        </select>
        <button type="submit">{{l.show}}</button>
        </form>
        {{/hasRounds}}
        <p><a class="download" href="{{csvLink}}" download>{{l.downloadCSV}}</a></p>
        {{^hasRows}}<p>{{l.noProposals}}</p>{{/hasRows}}
        {{#hasRows}}
        <p class="help">{{l.sortHint}}</p>
        <div class="scroll">
        <table class="overview">
        <caption>{{l.tableCaption}} ({{rowCount}})</caption>
        <thead><tr>
        {{#columns}}<th scope="col"{{#numeric}} class="n"{{/numeric}} aria-sort="{{ariaSort}}"><a href="{{link}}" data-column="{{key}}">{{heading}}{{#arrow}} <span aria-hidden="true">{{arrow}}</span>{{/arrow}}</a></th>{{/columns}}
        </tr></thead>
        <tbody>
        {{#rows}}<tr data-proposal="{{id}}">
        <th scope="row"><a href="{{link}}">{{title}}</a></th>
        <td>{{lead}}</td>
        <td>{{partners}}</td>
        <td><span class="status {{statusKey}}">{{status}}</span></td>
        <td class="n">{{amount}}</td>
        <td>{{#hasBlocking}}<details><summary>{{blockingCount}} {{l.problems}}</summary><ul class="blocking">{{#blocking}}<li>{{.}}</li>{{/blocking}}</ul></details>{{/hasBlocking}}{{^hasBlocking}}—{{/hasBlocking}}</td>
        <td>{{deadline}}</td>
        <td>{{changed}}</td>
        </tr>
        {{/rows}}
        </tbody>
        </table>
        </div>
        {{/hasRows}}

        """

    static let proposal = """
        <p><a href="/proposals">← {{l.back}}</a></p>
        <h1>{{title}}</h1>
        <section aria-labelledby="downloads-heading" class="downloads">
        <h2 id="downloads-heading">{{l.downloads}}</h2>
        <ul>
        <li><a href="{{downloadBase}}/html" download>{{l.downloadHTML}}</a></li>
        <li><a href="{{downloadBase}}/markdown" download>{{l.downloadMarkdown}}</a></li>
        <li><a href="{{downloadBase}}/docx" download>{{l.downloadWord}}</a></li>
        </ul>
        </section>
        <section aria-labelledby="process-heading">
        <h2 id="process-heading">{{l.processRecord}}</h2>
        <dl class="record">
        <dt>{{l.status}}</dt><dd>{{status}}</dd>
        <dt>{{l.lastChange}}</dt><dd>{{lastChange}}</dd>
        <dt>{{l.qualification}}</dt><dd>{{qualification}}</dd>
        <dt>{{l.decision}}</dt><dd>{{decision}}</dd>
        {{#withdrawal}}<dt>{{l.withdrawal}}</dt><dd>{{withdrawal}}</dd>{{/withdrawal}}
        </dl>
        {{#hasSubmissions}}
        <table class="submissions">
        <caption>{{l.submissions}}</caption>
        <thead><tr><th scope="col">{{l.step}}</th><th scope="col">{{l.submittedAt}}</th><th scope="col">{{l.submittedBy}}</th><th scope="col">{{l.contentHash}}</th><th scope="col">{{l.hashCheck}}</th></tr></thead>
        <tbody>
        {{#submissions}}<tr><td>{{step}}</td><td>{{at}}</td><td>{{by}}</td><td class="hash">{{hash}}</td><td>{{check}}</td></tr>
        {{/submissions}}
        </tbody>
        </table>
        {{/hasSubmissions}}
        {{^hasSubmissions}}<p>{{l.submissions}}: {{l.none}}</p>{{/hasSubmissions}}
        </section>
        <section aria-labelledby="members-heading">
        <h2 id="members-heading">{{l.members}}</h2>
        <table class="members">
        <thead><tr><th scope="col">{{l.organisation}}</th><th scope="col">{{l.role}}</th></tr></thead>
        <tbody>
        {{#members}}<tr><td>{{name}}</td><td>{{role}}</td></tr>
        {{/members}}
        </tbody>
        </table>
        </section>
        <article class="proposal" aria-label="{{l.rendered}}">
        {{{proposalHTML}}}
        </article>
        <section aria-labelledby="comments-heading">
        <h2 id="comments-heading">{{l.openComments}} ({{commentCount}})</h2>
        {{^hasComments}}<p>{{l.noOpenComments}}</p>{{/hasComments}}
        {{#comments}}
        <div class="comment">
        <p class="meta"><strong>{{author}}</strong>, {{at}}{{#section}} · {{section}}{{/section}}</p>
        {{#quote}}<blockquote>{{quote}}</blockquote>{{/quote}}
        <p>{{text}}</p>
        {{#hasReplies}}
        <ul class="replies" aria-label="{{l.repliesHeading}}">
        {{#replies}}<li><strong>{{author}}</strong>, {{at}}: {{text}}</li>{{/replies}}
        </ul>
        {{/hasReplies}}
        </div>
        {{/comments}}
        </section>

        """

    static let problem = """
        <h1>{{heading}}</h1>
        <p>{{message}}</p>
        <p><a href="{{linkTarget}}">{{linkText}}</a></p>

        """

    /// One stylesheet for every page: system fonts, contrast above WCAG AA (text
    /// #1a1a1a on white, links #0a4b8c), a visible focus ring, a print layout without
    /// navigation.
    static let stylesheet = """
        :root { color-scheme: light; }
        body { font-family: system-ui, sans-serif; line-height: 1.45; color: #1a1a1a; background: #fff; margin: 0; }
        a { color: #0a4b8c; }
        a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, main:focus-visible { outline: 3px solid #b35900; outline-offset: 2px; }
        .skip { position: absolute; left: -999em; }
        .skip:focus { left: 1em; top: 1em; background: #fff; padding: 0.5em; z-index: 1; }
        header { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: center; gap: 1em; padding: 0.75em 1.5em; border-bottom: 1px solid #c8c8c8; background: #f4f6f8; }
        header .brand { margin: 0; font-weight: 600; }
        header .brand a { text-decoration: none; font-size: 1.2em; }
        header .brand span { color: #4a4a4a; font-weight: 400; margin-left: 0.5em; }
        header nav { display: flex; flex-wrap: wrap; align-items: center; gap: 1em; }
        main { padding: 1em 1.5em 3em; max-width: 90em; }
        form.inline { display: inline; margin: 0; }
        button { font: inherit; padding: 0.35em 0.9em; border: 1px solid #0a4b8c; background: #0a4b8c; color: #fff; border-radius: 3px; cursor: pointer; }
        nav button { background: #fff; color: #0a4b8c; }
        label { display: block; font-weight: 600; margin-top: 1em; }
        input[type=password], select { font: inherit; padding: 0.35em; border: 1px solid #6b6b6b; border-radius: 3px; }
        input[type=password] { width: min(36em, 100%); }
        form.login button { margin-top: 1em; }
        form.filter { display: flex; flex-wrap: wrap; align-items: end; gap: 0.5em; }
        form.filter label { margin: 0; }
        .help { color: #4a4a4a; font-size: 0.92em; }
        .problem { border-left: 4px solid #a30000; padding: 0.5em 0.75em; background: #fdf0f0; color: #7a0000; }
        .scroll { overflow-x: auto; }
        table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
        caption { text-align: left; font-weight: 600; padding: 0.25em 0; }
        th, td { border: 1px solid #b4b4b4; padding: 0.35em 0.6em; text-align: left; vertical-align: top; }
        thead th { background: #eef1f4; }
        thead th a { color: #1a1a1a; }
        th.n, td.n { text-align: right; font-variant-numeric: tabular-nums; }
        table.overview tbody th { font-weight: 600; }
        table.overview tbody tr:nth-child(even) { background: #f8f9fa; }
        ul.blocking { margin: 0.25em 0 0; padding-left: 1.1em; color: #7a0000; }
        details summary { cursor: pointer; color: #7a0000; font-weight: 600; }
        .status { white-space: nowrap; }
        td.hash { font-family: ui-monospace, monospace; font-size: 0.85em; word-break: break-all; }
        .proposal { border: 1px solid #c8c8c8; padding: 0 1.5em 1em; margin: 1em 0 2em; max-width: 55em; }
        .proposal table { width: 100%; }
        .proposal blockquote, .comment blockquote { border-left: 3px solid #8a8a8a; margin: 0.5em 0; padding-left: 0.75em; color: #3d3d3d; }
        .proposal p, .proposal li, .proposal td { overflow-wrap: anywhere; }
        dl.record { display: grid; grid-template-columns: max-content 1fr; gap: 0.25em 1em; }
        dl.record dt { font-weight: 600; }
        dl.record dd { margin: 0; }
        .comment { border-top: 1px solid #d8d8d8; padding: 0.5em 0; max-width: 55em; }
        .comment .meta { margin: 0; color: #3d3d3d; }
        .downloads ul { display: flex; flex-wrap: wrap; gap: 1.5em; list-style: none; padding: 0; }
        @media print { header, .downloads, .skip, form { display: none; } main { padding: 0; } .proposal { border: none; padding: 0; } }

        """
}
