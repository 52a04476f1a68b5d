import './base.css';
import './static_fallback.css';
import './widget_open_in_tab.css';
