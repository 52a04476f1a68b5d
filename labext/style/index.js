import './base.css';
import './static_fallback.css';
